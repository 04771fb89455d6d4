// Package station is the composition root of the station's domain: it builds
// the adb server keeper and client, the phone discovery manager, the agent
// (channel) manager, the library with its cache, the catalog client and its
// outbox, and the install engine from one Config, and connects them: a phone
// that becomes ready gets its agent and channel, then is handed to the install
// engine (which, in auto mode, installs the active list at once); an unplugged
// phone ends its session as interrupted; every install record is queued in
// the outbox in the catalog's format.
//
// Station.Serve blocks until every child (adb server keeper, discovery,
// agents, install engine, outbox, the phone coordinator) has stopped. Each
// child runs under a small suture-style supervisor: a child that fails or
// panics is logged and restarted with backoff and never takes the others
// down. Cancelling Serve's context stops everything.
package station
