// Package store owns the station's SQLite database: GORM models, the schema
// version and its migrations, and small repositories. Every call takes a
// context; SQLite runs in WAL mode with a busy timeout, so writers wait briefly
// for each other instead of failing, and nothing here holds a lock across I/O
// to a phone.
package store
