// Package events owns the names and payload types of everything the station
// tells its UI, and the Emitter interface services use to say it. Nothing here
// blocks: emitters drop or buffer, they never wait on a slow listener.
package events
