// Package web is the headless mode: it serves the built frontend and calls the
// very service structs bound to Wails over HTTP (POST /api/call), streams
// events.Broadcaster to the browser (GET /api/events, server-sent events), and
// injects a shim (/api/shim.js) that defines window.go and window.runtime over
// HTTP so the frontend runs unchanged. Server.Serve(ctx) blocks until the
// listener is closed and every handler, including open event streams, has
// returned; cancelling ctx stops it.
package web
