// Package sim is the virtual phones: a device-side adbd per phone on its own
// loopback TCP port, which the real adb server attaches to with host:connect
// and cannot tell from a USB phone. It owns the phone model (profiles,
// getprop, a package database that installs change, a file system under a
// host directory), Android's install refusals, the USB model (token buckets
// per hub and per phone, one package-manager commit at a time per phone),
// the agent on a phone (in-process or as a real process over simos), and
// fault injection (Go calls, "PHONE:NAME=ARG" specs, an HTTP control API).
//
// Blocking: each phone accepts on its own goroutine; each adb connection has
// one reader goroutine and one goroutine per open stream. A stream's writes
// block until the host acknowledges the previous one, so a hung phone or a
// slow host blocks only that stream. Sim.Serve blocks until its context ends.
//
// Cancellation: Sim.Close (or the end of Serve's context) detaches every
// phone from the adb server, closes listeners and connections, cancels the
// agents and removes the phones' files. Unplug and reboot cancel one phone's
// connections and agents; nothing one phone does touches another.
package sim
