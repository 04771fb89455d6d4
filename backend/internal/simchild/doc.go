// Package simchild runs virtual phones (backend/sim) in a child copy of a
// test binary, so the process under test (an install engine, the whole
// station) has its own goroutines, RSS and CPU, and can be killed without
// the phones. The parent starts the child with Start, which re-executes the
// test binary with Env set; the child's TestMain calls Main first, which
// runs the phones there and exits. The phones can run the agent a station
// pushes (Config.Agent), so installs go over the agent channel.
//
// Parent and child talk over the child's stdin and stdout, one line per
// command and one JSON line per answer; a command blocks until the child has
// done it. Close (also registered with t.Cleanup) asks the child to quit and
// waits for it; the child closes its phones, detaching them from the adb
// server, on "quit" or when its stdin closes.
package simchild
