package station

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"preloadstation/backend/agent"
	"preloadstation/backend/agent/wire"
	"preloadstation/backend/catalog"
	"preloadstation/backend/device"
	"preloadstation/backend/install"
	"preloadstation/backend/library"
	"preloadstation/backend/store"
)

// activeList is the install engine's list: the library's active list, for
// the operator logged in now.
type activeList struct {
	lib      *library.Library
	operator func(ctx context.Context) string
	// wait bounds how long a session start waits for a pre-download that
	// is still fetching the list's APKs.
	wait time.Duration
}

// CurrentList implements install.ListSource. No active list is an empty
// list, not an error: a phone plugged before the operator picked a list gets
// an empty session instead of a failed one.
func (l activeList) CurrentList(ctx context.Context) (install.List, error) {
	l.awaitDownload(ctx)
	al, err := l.lib.ActiveList(ctx)
	if err != nil {
		if library.CodeOf(err) == library.CodeNotFound {
			return install.List{Operator: l.operator(ctx)}, nil
		}
		return install.List{}, fmt.Errorf("station: active list: %w", err)
	}
	// A catalog list belongs to the operator who logged in at the catalog to
	// fetch it; a local list is installed by whoever is logged in here.
	out := install.List{Name: al.Name, Operator: al.Operator}
	if out.Operator == "" {
		out.Operator = l.operator(ctx)
	}
	for i, it := range al.Items {
		a := it.App
		out.Apps = append(out.Apps, install.App{AppID: a.ID, Package: a.Package, Label: a.Label,
			VersionCode: a.VersionCode, VersionName: a.VersionName, MinSDK: a.MinSDK, TargetSDK: a.TargetSDK,
			ABIs: install.SplitList(a.ABIs), Signer: a.Signer, Size: a.Size, SHA256: a.SHA256,
			Priority: it.Priority, Position: i})
	}
	return out, nil
}

// awaitDownload waits while a pre-download is still fetching APKs of the
// active list, so a phone plugged meanwhile gets them instead of failures.
// Without a download running, missing APKs fail at once (APK_NOT_IN_CACHE)
// and the operator sees why.
func (l activeList) awaitDownload(ctx context.Context) {
	deadline := time.Now().Add(l.wait)
	for time.Now().Before(deadline) {
		st, err := l.lib.Status(ctx)
		if err != nil || st.Missing == 0 || st.Progress.State != "downloading" {
			return
		}
		t := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// history writes sessions and records through install.HistoryStore, with
// outbox items in the catalog outbox's format (in the record's own
// transaction), then wakes the outbox so the record leaves at once.
type history struct {
	h   install.HistoryStore
	ob  *catalog.Outbox
	st  *store.Store
	log *slog.Logger

	mu       sync.Mutex
	sessions map[uint]store.InstallSession
}

func newHistory(st *store.Store, ob *catalog.Outbox, log *slog.Logger) *history {
	return &history{
		h: install.HistoryStore{S: st, Payload: func(r store.InstallRecord, s store.InstallSession) any {
			return catalog.RecordFrom(r, s)
		}},
		ob: ob, st: st, log: log, sessions: map[uint]store.InstallSession{},
	}
}

func (h *history) BeginSession(ctx context.Context, s *store.InstallSession) error {
	if s.Station == "" {
		// The engine is built before first-run setup may name the station.
		if row, err := h.st.Station(ctx); err == nil {
			s.Station = row.Name
		}
	}
	if err := h.h.BeginSession(ctx, s); err != nil {
		return err
	}
	h.mu.Lock()
	h.sessions[s.ID] = *s
	h.mu.Unlock()
	return nil
}

func (h *history) Record(ctx context.Context, rec *store.InstallRecord) error {
	if err := h.h.Record(ctx, rec); err != nil {
		return err
	}
	h.mu.Lock()
	s, ok := h.sessions[rec.SessionID]
	h.mu.Unlock()
	if !ok {
		return nil
	}
	// The item is already queued (same UUID: a no-op insert); Enqueue wakes
	// the outbox instead of leaving the record until its next idle check.
	if err := h.ob.Enqueue(ctx, catalog.RecordFrom(*rec, s)); err != nil {
		h.log.Warn("station: outbox refused a record", "uuid", rec.UUID, "err", err)
	}
	return nil
}

func (h *history) EndSession(ctx context.Context, id uint, outcome string, endedAt time.Time) error {
	h.mu.Lock()
	delete(h.sessions, id)
	h.mu.Unlock()
	return h.h.EndSession(ctx, id, outcome, endedAt)
}

// agentTransport installs through the phone's agent channel, and straight
// over adb (exec:) whenever the phone has no channel at that moment.
type agentTransport struct {
	agents *agent.Manager
	serial string
	exec   install.ExecTransport
}

func (t agentTransport) Name() string {
	if t.agents.Channel(t.serial) != nil {
		return "agent"
	}
	return t.exec.Name()
}

func (t agentTransport) Install(ctx context.Context, apk io.Reader, size int64) (string, error) {
	req := wire.InstallRequest{Name: fmt.Sprintf("APK %.1f MB", float64(size)/1e6), Size: size}
	res, err := t.agents.Install(ctx, t.serial, req, apk, nil)
	var re *wire.RemoteError
	switch {
	case errors.Is(err, agent.ErrNoChannel):
		// Nothing was read from apk yet: the same stream goes over adb.
		return t.exec.Install(ctx, apk, size)
	case errors.As(err, &re):
		// The package manager refused: its text carries the code the engine classifies.
		return re.Msg, nil
	case err != nil:
		return res.Output, err
	}
	return res.Output, nil
}

// installFacts turns discovery's facts into the planner's.
func installFacts(serial string, f device.Facts) install.Facts {
	inst := make(map[string]install.Installed, len(f.Packages))
	for p, vc := range f.Packages {
		inst[p] = install.Installed{VersionCode: vc}
	}
	return install.Facts{Serial: serial, Brand: f.Brand, Model: f.Model, Release: f.Release, SDK: f.SDK,
		ABIs: f.ABIs, FreeBytes: f.FreeData, Installed: inst}
}

func itoa(n int) string { return strconv.Itoa(n) }
