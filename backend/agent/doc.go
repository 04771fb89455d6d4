// Package agent is the station side of the channel (claim 1, step 2): it
// carries the embedded agent builds, pushes the right one to each phone when
// it is missing or stale, starts it detached, forwards one adb-chosen local
// port per phone, authenticates with the version-first mutual HMAC handshake
// (wire), and keeps one channel per phone alive.
//
// Manager.Serve supervises one worker per phone; each worker's Serve(ctx)
// blocks for the phone's whole stay, rebuilding its forward and channel after
// any drop, and returns when its own context ends (Detach or Manager stop). A
// phone's failure never cancels another's context. Every adb call takes the
// worker's context; channel reads and writes are bounded by heartbeats.
package agent
