// Package wailsemit is the one place that calls the Wails runtime to emit
// events: services only see events.Emitter, so the headless mode swaps in an
// events.Broadcaster instead. Emit never blocks; events sent before the window
// has started (or after it stopped) are dropped. Nothing here runs on its own.
package wailsemit
