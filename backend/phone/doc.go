// Package phone is the agent side of the channel: the program the station
// pushes onto every phone (cmd/preload-agent runs Main). It listens on the
// phone's loopback for the station, authenticates it (backend/agent/wire),
// pipes streamed APKs into the package manager, answers facts, and serves the
// on-phone page (install assistant and configuration form).
//
// Everything the agent does on the phone goes through PhoneOS, so the virtual
// phones can run it in-process. Agent.Serve blocks until its context is
// cancelled; it then closes its listeners and every channel and returns.
package phone
