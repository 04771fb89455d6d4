// Package catalog owns the catalog server (the patent's backend server: users,
// stations, apps, optimized lists, station configs, install reports) with its
// own GORM models and database (SQLite or PostgreSQL), the admin tasks behind
// `preload-station catalog …`, and the station's client of it: registration,
// login, the last known list kept for offline use, pre-download, and the
// outbox that delivers install records exactly once.
//
// Blocking: Server.Serve and Outbox.Serve run until their context is
// cancelled and return only once stopped; every client call takes a context.
package catalog
