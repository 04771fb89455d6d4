package events

import "sync"

// Event names, shaped domain:verb[:id]. Mirrored in frontend/src/lib/api/events.ts.
const (
	DeviceAttached = "device:attached"
	DeviceUpdated  = "device:updated"
	DeviceDetached = "device:detached"

	InstallProgress = "install:progress"
	InstallState    = "install:state"
	InstallDone     = "install:done"
	// InstallSession carries a phone's install session (store.InstallSession)
	// when it starts and ends. Not SessionChanged: that one is the operator's sign-in.
	InstallSession = "install:session"

	LibraryChanged  = "library:changed"
	LibraryProgress = "library:progress"
	LibraryDropped  = "library:dropped"

	CatalogStatus = "catalog:status"
	OutboxStatus  = "outbox:status"

	SessionChanged  = "session:changed"
	SettingsChanged = "settings:changed"
	StationChanged  = "station:changed"

	// AgentState carries agent.PhoneState: a phone's agent/channel state
	// (pushing, connecting, ready, fallback to direct ADB installs).
	AgentState = "agent:state"
)

// Emitter sends one named event with a JSON-encodable payload to every UI.
type Emitter interface {
	Emit(name string, payload any)
}

// Func adapts a function to Emitter.
type Func func(name string, payload any)

func (f Func) Emit(name string, payload any) { f(name, payload) }

// Nop drops everything: for tests and tools without a UI.
type Nop struct{}

func (Nop) Emit(string, any) {}

// Multi fans one event out to several emitters (desktop window + headless web UI).
type Multi []Emitter

func (m Multi) Emit(name string, payload any) {
	for _, e := range m {
		e.Emit(name, payload)
	}
}

// Message is one event as it travels to a subscriber.
type Message struct {
	Name    string `json:"name"`
	Payload any    `json:"payload"`
}

// Broadcaster fans events out to subscribers (the headless mode's SSE clients).
// A subscriber that falls behind loses events rather than slowing the station.
type Broadcaster struct {
	mu   sync.Mutex
	subs map[chan Message]struct{}
}

func NewBroadcaster() *Broadcaster {
	return &Broadcaster{subs: map[chan Message]struct{}{}}
}

func (b *Broadcaster) Emit(name string, payload any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- Message{Name: name, Payload: payload}:
		default: // slow subscriber: drop, never block the station
		}
	}
}

// Subscribe returns a channel of events and a function that ends the subscription.
func (b *Broadcaster) Subscribe(buffer int) (<-chan Message, func()) {
	ch := make(chan Message, buffer)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, ch)
			b.mu.Unlock()
			close(ch)
		})
	}
}
