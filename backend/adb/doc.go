// Package adb is the station's narrow ADB host client: list and track devices,
// shell with exit codes, exec streams, push with progress, stat, forwards and
// the adb server's lifecycle.
//
// It speaks the adb host protocol itself (small, tested code in wire.go) and
// uses gadb v0.1.0 only where it cannot block the station (see gadb.go): gadb
// has no contexts, no exec:, no exit codes, a fixed 60 s read deadline and a
// push that can lose its tail.
//
// Blocking: every call dials its own connection to the adb server and blocks
// until done. Cancellation: every call takes a context; cancelling it closes
// the connection. Besides the context, every call has a no-progress watchdog
// (see Watchdog, WithIdleTimeout): when no byte moves in either direction for
// the idle timeout the call fails with ErrStalled, so a phone that stops
// acknowledging never blocks a caller forever.
package adb
