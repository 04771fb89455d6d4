// Package wire is the channel protocol shared by the station (backend/agent) and
// the phone agent (backend/phone): length-prefixed frames, the version-first
// mutual HMAC handshake, JSON control envelopes and raw data frames, and a
// Session that runs one authenticated connection with heartbeats.
//
// Everything here blocks on a net.Conn; deadlines bound every read and write,
// and Session.Serve returns (closing the conn) when its context is cancelled,
// the peer goes quiet for longer than the heartbeat timeout, or a frame is bad.
// The package imports nothing from the rest of the station so the agent binary
// stays small.
package wire
