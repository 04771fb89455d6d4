package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"gorm.io/gorm"

	"preloadstation/backend/catalog"
	"preloadstation/backend/install"
	"preloadstation/backend/store"
)

const catalogUsage = `usage: preload-station catalog COMMAND [flags]
  serve        [--listen 127.0.0.1:8621] [--db sqlite:PATH|postgres://…] [--data DIR] [--max-upload BYTES]
  user add     NAME --password P [--role operator|admin] [--group G]   (or $PRELOAD_CATALOG_PASSWORD)
  app add      FILE.apk...
  list set     NAME [--operator U] [--group G] [--priority N] [--first APP,…] APP1,APP2,…   (package names or SHA-256s)
  station code [--ttl 24h]     prints a one-time station registration code
Every command takes --db and --data (default: $PRELOAD_CATALOG_DATA or <config dir>/PreloadCatalog, db sqlite:<data>/catalog.db).`

// runCatalog is `preload-station catalog …`: the catalog server and its admin tasks.
func runCatalog(ctx context.Context, args []string) error {
	return catalogCommand(ctx, os.Stdout, os.Stderr, args)
}

// catalogFlags are the flags every catalog command shares.
type catalogFlags struct {
	fs   *flag.FlagSet
	db   *string
	data *string
}

func newCatalogFlags(name string, stderr io.Writer) catalogFlags {
	fs := flag.NewFlagSet("catalog "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, catalogUsage) }
	return catalogFlags{fs: fs,
		db:   fs.String("db", "", "database: sqlite:PATH or postgres://user:pass@host/db"),
		data: fs.String("data", "", "data directory (APK files; default SQLite database)")}
}

// parse accepts flags before, between and after positional arguments.
func (c catalogFlags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			return nil, err
		}
		if c.fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, c.fs.Arg(0))
		args = c.fs.Args()[1:]
	}
}

// open opens the catalog's database and APK store.
func (c catalogFlags) open(ctx context.Context) (*catalog.Catalog, func(), error) {
	data := *c.data
	if data == "" {
		data = os.Getenv("PRELOAD_CATALOG_DATA")
	}
	if data == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil, nil, fmt.Errorf("catalog: no --data given and no config dir: %w", err)
		}
		data = filepath.Join(dir, "PreloadCatalog")
	}
	dsn := *c.db
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(data, "catalog.db")
	}
	db, err := catalog.OpenDB(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	cat, err := catalog.NewCatalog(db, data)
	if err != nil {
		catalog.CloseDB(db)
		return nil, nil, err
	}
	return cat, func() { catalog.CloseDB(db) }, nil
}

func catalogCommand(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	usage := func() error { fmt.Fprintln(stderr, catalogUsage); return errUsage }
	if len(args) == 0 {
		return usage()
	}
	cmd := args[0]
	rest := args[1:]
	if cmd != "serve" {
		if len(args) < 2 {
			return usage()
		}
		cmd, rest = args[0]+" "+args[1], args[2:]
	}
	switch cmd {
	case "serve":
		return catalogServe(ctx, stderr, rest)
	case "user add":
		f := newCatalogFlags("user add", stderr)
		pw := f.fs.String("password", "", "password (8-72 bytes); default $PRELOAD_CATALOG_PASSWORD")
		role := f.fs.String("role", "operator", "operator or admin")
		group := f.fs.String("group", "", "group whose list the user gets when they have none of their own")
		pos, err := f.parse(rest)
		if err != nil || len(pos) != 1 {
			return usage()
		}
		if *pw == "" {
			*pw = os.Getenv("PRELOAD_CATALOG_PASSWORD")
		}
		cat, done, err := f.open(ctx)
		if err != nil {
			return err
		}
		defer done()
		u, err := cat.AddUser(ctx, pos[0], *pw, *role, *group)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s added (role %s)\n", u.Username, u.Role)
		return nil
	case "app add":
		f := newCatalogFlags("app add", stderr)
		pos, err := f.parse(rest)
		if err != nil || len(pos) == 0 {
			return usage()
		}
		cat, done, err := f.open(ctx)
		if err != nil {
			return err
		}
		defer done()
		var errs []error
		for _, p := range pos {
			a, dup, err := cat.AddAppFile(ctx, p)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
				continue
			}
			note := "added"
			if dup {
				note = "already in the catalog"
			}
			fmt.Fprintf(stdout, "%s  %s %s (%d)  %s\n", a.SHA256, a.Package, a.VersionName, a.VersionCode, note)
		}
		return errors.Join(errs...)
	case "list set":
		f := newCatalogFlags("list set", stderr)
		op := f.fs.String("operator", "", "username the list is for")
		group := f.fs.String("group", "", "group the list is for")
		prio := f.fs.Int("priority", 0, "priority among lists that match equally (higher wins)")
		firstFlag := f.fs.String("first", "", "comma-separated apps (as written in APPS) to install before the others")
		pos, err := f.parse(rest)
		if err != nil || len(pos) < 1 || len(pos) > 2 {
			return usage()
		}
		var apps []string
		if len(pos) == 2 {
			apps = install.SplitList(pos[1])
		}
		cat, done, err := f.open(ctx)
		if err != nil {
			return err
		}
		defer done()
		l, err := cat.SetList(ctx, pos[0], catalog.ListSpec{Operator: *op, Group: *group, Priority: *prio, Apps: apps, First: install.SplitList(*firstFlag)})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "list %q: %d apps\n", l.Name, len(l.Items))
		for _, it := range l.Items {
			mark := ""
			if it.Priority > store.PriorityNormal {
				mark = " (install first)"
			}
			fmt.Fprintf(stdout, "  %d. %s %s%s\n", it.Position+1, it.App.Package, it.App.VersionName, mark)
		}
		return nil
	case "station code":
		f := newCatalogFlags("station code", stderr)
		ttl := f.fs.Duration("ttl", 24*time.Hour, "how long the code stays valid")
		pos, err := f.parse(rest)
		if err != nil || len(pos) != 0 || *ttl <= 0 {
			return usage()
		}
		cat, done, err := f.open(ctx)
		if err != nil {
			return err
		}
		defer done()
		code, err := cat.NewStationCode(ctx, *ttl)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, code)
		return nil
	}
	return usage()
}

func catalogServe(ctx context.Context, stderr io.Writer, args []string) error {
	f := newCatalogFlags("serve", stderr)
	listen := f.fs.String("listen", "127.0.0.1:8621", "address to listen on")
	maxUpload := f.fs.Int64("max-upload", catalog.DefaultMaxUpload, "largest APK upload in bytes")
	pos, err := f.parse(args)
	if err != nil || len(pos) != 0 || *maxUpload <= 0 {
		fmt.Fprintln(stderr, catalogUsage)
		return errUsage
	}
	cat, done, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("catalog: listen on %s: %w", *listen, err)
	}
	srv := catalog.NewServer(cat, log)
	srv.MaxUpload = *maxUpload
	log.Info("catalog server listening", "url", "http://"+ln.Addr().String(), "db", dbKind(cat.DB))
	return srv.Serve(ctx, ln)
}

func dbKind(db *gorm.DB) string { return db.Dialector.Name() }
