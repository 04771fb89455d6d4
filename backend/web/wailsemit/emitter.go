package wailsemit

import (
	"context"
	"sync/atomic"

	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// Emitter sends events to the Wails window once Start has given it the window's context.
type Emitter struct {
	ctx atomic.Pointer[context.Context]
}

// Start is called from Wails' OnStartup with the window's context.
func (e *Emitter) Start(ctx context.Context) { e.ctx.Store(&ctx) }

// Stop is called from OnShutdown; later events are dropped.
func (e *Emitter) Stop() { e.ctx.Store(nil) }

// Emit implements events.Emitter.
func (e *Emitter) Emit(name string, payload any) {
	if p := e.ctx.Load(); p != nil {
		runtime.EventsEmit(*p, name, payload)
	}
}
