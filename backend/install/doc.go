// Package install owns the install engine: the planner (pure: a list and one
// phone's facts in, an ordered plan with a reason for every skipped app out),
// failure classification with operator hints, the per-hub transfer scheduler
// with its token buckets, the executor (one supervised pipeline per phone) and
// the history writer (sessions, records and outbox items in one transaction).
//
// What blocks: Engine.Serve until its context ends and every phone pipeline
// has stopped; a pipeline blocks on its phone's transport, on its hub's
// transfer permits and on the history store, each under the phone's own
// context and a no-progress watchdog. Cancelling a phone (unplug, Stop)
// cancels only that phone's context; nothing is shared between phones except
// the hub scheduler, which never holds a lock across I/O.
package install
