// Package device owns the phones on the hub: hot-plug discovery (adb
// track-devices plus a 250 ms poll, because adb does not always report a
// dropped TCP device to trackers), each phone's state and facts, and slots
// (the hub port a phone sits in, with its operator-set label).
//
// Manager.Serve blocks until its context ends and every per-phone worker has
// stopped. Each phone gets one supervised worker (Serve(ctx) per serial) with
// its own context: a phone's failure or hang never cancels another's. Facts
// are read in parallel under a no-progress watchdog. When the adb server dies
// and comes back, the manager re-connects the TCP devices it knew (virtual
// phones and Wi-Fi phones: a fresh adb server has forgotten them), so every
// phone returns to ready without the operator doing anything.
package device
