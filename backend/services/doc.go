// Package services holds the thin structs bound to the frontend: the desktop
// window calls them through Wails (window.go.services.<Service>.<Method>) and
// the headless mode calls the very same structs through backend/web. Methods
// return (T, error); errors carry a stable code (see Error) that the frontend
// maps to a translated message. No service imports the Wails runtime: events
// go out through events.Emitter. Every call runs under the app's lifetime
// context (Deps.Context) with a per-call timeout, so Shutdown cancels them.
//
// Adding a service: write <name>_service.go with a New<Name>Service(deps)
// constructor, add one field to Set and one line to New and Bindings in
// registry.go.
package services
