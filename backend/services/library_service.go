package services

import (
	"context"
	"errors"
	"sync"
	"time"

	"preloadstation/backend/catalog"
	"preloadstation/backend/library"
	"preloadstation/backend/store"
)

// LibraryService is the library as the UI sees it: apps, custom APKs, lists,
// the catalog connection and the pre-download. Logic lives in backend/library
// and backend/catalog; this only checks who is logged in and delegates.
type LibraryService struct {
	deps    Deps
	session *Session
	lib     *library.Library
	catalog *catalog.Client // nil when the station has no catalog server

	mu          sync.Mutex
	downloading bool
}

// NewLibraryService builds the service; app.go adds it to the Set and Bindings.
func NewLibraryService(deps Deps, sess *Session, lib *library.Library, cl *catalog.Client) *LibraryService {
	if deps.CallTimeout == 0 {
		deps.CallTimeout = 30 * time.Second
	}
	return &LibraryService{deps: deps, session: sess, lib: lib, catalog: cl}
}

// libWrap keeps library and catalog codes for the UI; other errors go through wrap.
func libWrap(err error) error {
	if err == nil {
		return nil
	}
	var le *library.Error
	if errors.As(err, &le) {
		return &Error{Code: le.Code, Message: le.Message, Err: err}
	}
	var ce *catalog.APIError
	if errors.As(err, &ce) {
		return &Error{Code: "catalog." + ce.Code, Message: ce.Message, Err: err}
	}
	return wrap(err)
}

// Apps lists the library with each app's cache state.
func (s *LibraryService) Apps() ([]library.AppView, error) {
	if _, err := requireUser(s.session); err != nil {
		return nil, err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	apps, err := s.lib.Apps(ctx)
	return apps, libWrap(err)
}

// AddFile adds a custom APK from a path (a dropped file); duplicates are reported, not added twice.
func (s *LibraryService) AddFile(path string) (library.AddResult, error) {
	if _, err := requireUser(s.session); err != nil {
		return library.AddResult{}, err
	}
	ctx, cancel := context.WithTimeout(s.deps.Context, 5*time.Minute) // hashing a large APK on a slow disk
	defer cancel()
	res, err := s.lib.AddFile(ctx, path)
	if err == nil {
		s.deps.Log.Info("library: added", "package", res.App.Package, "sha256", res.App.SHA256, "duplicate", res.Duplicate)
	}
	return res, libWrap(err)
}

// Remove deletes a custom app.
func (s *LibraryService) Remove(id uint) error {
	if _, err := requireUser(s.session); err != nil {
		return err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	return libWrap(s.lib.Remove(ctx, id))
}

// Lists returns every list with its apps in order.
func (s *LibraryService) Lists() ([]store.AppList, error) {
	if _, err := requireUser(s.session); err != nil {
		return nil, err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	ls, err := s.lib.Lists(ctx)
	return ls, libWrap(err)
}

// CreateList makes an empty custom list.
func (s *LibraryService) CreateList(name string) (store.AppList, error) {
	if _, err := requireUser(s.session); err != nil {
		return store.AppList{}, err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	l, err := s.lib.CreateList(ctx, name)
	return l, libWrap(err)
}

// RenameList renames a custom list.
func (s *LibraryService) RenameList(id uint, name string) error {
	if _, err := requireUser(s.session); err != nil {
		return err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	return libWrap(s.lib.RenameList(ctx, id, name))
}

// DeleteList deletes a custom list.
func (s *LibraryService) DeleteList(id uint) error {
	if _, err := requireUser(s.session); err != nil {
		return err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	return libWrap(s.lib.DeleteList(ctx, id))
}

// SetListItems sets a custom list's apps in order (this is also how it is reordered).
func (s *LibraryService) SetListItems(id uint, appIDs []uint) error {
	if _, err := requireUser(s.session); err != nil {
		return err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	return libWrap(s.lib.SetListItems(ctx, id, appIDs))
}

// SetItemFirst marks an app on a custom list "install first", or normal again.
func (s *LibraryService) SetItemFirst(listID, appID uint, first bool) error {
	if _, err := requireUser(s.session); err != nil {
		return err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	return libWrap(s.lib.SetItemFirst(ctx, listID, appID, first))
}

// ActivateList makes a list the one the station installs, and pre-downloads it.
func (s *LibraryService) ActivateList(id uint) error {
	if _, err := requireUser(s.session); err != nil {
		return err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	if err := s.lib.ActivateList(ctx, id); err != nil {
		return libWrap(err)
	}
	s.startPredownload(id)
	return nil
}

// Status reports the pre-download progress and the cache's fill.
func (s *LibraryService) Status() (library.Status, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	st, err := s.lib.Status(ctx)
	return st, libWrap(err)
}

// Predownload starts fetching the active list's APKs; progress arrives as
// library:progress events. It returns at once.
func (s *LibraryService) Predownload() error {
	if _, err := requireUser(s.session); err != nil {
		return err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	l, err := s.lib.ActiveList(ctx)
	if err != nil {
		return libWrap(err)
	}
	s.startPredownload(l.ID)
	return nil
}

// startPredownload runs one pre-download at a time, for the app's lifetime.
func (s *LibraryService) startPredownload(listID uint) {
	s.mu.Lock()
	if s.downloading || s.lib.Downloader.Source == nil {
		s.mu.Unlock()
		return
	}
	s.downloading = true
	s.mu.Unlock()
	go func() {
		defer func() { s.mu.Lock(); s.downloading = false; s.mu.Unlock() }()
		res, err := s.lib.Predownload(s.deps.Context, listID)
		if err != nil {
			s.deps.Log.Warn("library: pre-download incomplete", "list", listID, "failed", res.Failed, "err", err)
			return
		}
		s.deps.Log.Info("library: pre-download done", "list", listID, "downloaded", res.Downloaded, "cached", res.Cached, "bytes", res.Bytes)
	}()
}

// RegisterCatalog registers the station at a catalog server with a one-time code.
func (s *LibraryService) RegisterCatalog(url, code, name string) error {
	if _, err := requireAdmin(s.session); err != nil {
		return err
	}
	if s.catalog == nil {
		return &Error{Code: CodeInvalid, Message: "no catalog client configured"}
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	_, err := s.catalog.Register(ctx, url, code, name)
	return libWrap(err)
}

// SyncCatalog logs the operator in at the catalog, fetches their list (or
// the last known one when the server is down), makes it active and starts
// the pre-download (claim 1, step 1; claim 2).
func (s *LibraryService) SyncCatalog(username, password string) (catalog.ListResult, error) {
	if _, err := requireUser(s.session); err != nil {
		return catalog.ListResult{}, err
	}
	if s.catalog == nil {
		return catalog.ListResult{}, &Error{Code: CodeInvalid, Message: "no catalog client configured"}
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	if _, err := s.catalog.Login(ctx, username, password); err != nil && catalog.ErrorCode(err) != catalog.CodeUnavailable {
		return catalog.ListResult{}, libWrap(err)
	}
	res, err := s.catalog.FetchList(ctx, username)
	if err != nil {
		return res, libWrap(err)
	}
	s.startPredownload(res.List.ID)
	return res, nil
}
