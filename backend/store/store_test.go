package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

// childEnv makes the test binary act as the durability test's writer process.
const childEnv = "PRELOAD_STORE_DURABILITY_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(durabilityChild(path))
	}
	os.Exit(m.Run())
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.HashCost = bcrypt.MinCost
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenRecordsSchemaVersion(t *testing.T) {
	s := openTemp(t)
	v, err := s.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersionLatest() || v < 1 {
		t.Fatalf("schema version %d, want %d", v, SchemaVersionLatest())
	}
	var mode string
	s.DB.Raw("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Fatalf("journal_mode %q, want wal", mode)
	}
	var fk int
	s.DB.Raw("PRAGMA foreign_keys").Scan(&fk)
	if fk != 1 {
		t.Fatalf("foreign_keys %d, want 1", fk)
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)

	u, err := s.CreateUser(ctx, NewUser{Username: "  Alice ", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || u.Role != RoleOperator {
		t.Fatalf("got %+v", u)
	}
	if u.PasswordHash == "correct horse" || !strings.HasPrefix(u.PasswordHash, "$2") {
		t.Fatalf("password not bcrypt-hashed: %q", u.PasswordHash)
	}

	tests := []struct {
		name string
		in   NewUser
		want error
	}{
		{"duplicate", NewUser{Username: "alice", Password: "another one"}, ErrUsernameTaken},
		{"duplicate other case", NewUser{Username: "ALICE", Password: "another one"}, ErrUsernameTaken},
		{"short name", NewUser{Username: "al", Password: "12345678"}, ErrInvalidUsername},
		{"bad chars", NewUser{Username: "al ice", Password: "12345678"}, ErrInvalidUsername},
		{"short password", NewUser{Username: "bob", Password: "1234567"}, ErrWeakPassword},
		{"bad role", NewUser{Username: "bob", Password: "12345678", Role: "root"}, ErrInvalidRole},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateUser(ctx, tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}

	if _, err := s.Authenticate(ctx, "ALICE", "correct horse"); err != nil {
		t.Fatalf("good login: %v", err)
	}
	for _, c := range [][2]string{{"alice", "wrong pass"}, {"nobody", "correct horse"}} {
		if _, err := s.Authenticate(ctx, c[0], c[1]); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("login %v: err %v, want ErrBadCredentials", c, err)
		}
	}
	if err := s.SetPassword(ctx, u.ID, "new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice", "new password"); err != nil {
		t.Fatalf("login after password change: %v", err)
	}
	users, err := s.Users(ctx)
	if err != nil || len(users) != 1 {
		t.Fatalf("users %v %v", users, err)
	}
}

func TestUniqueUsernamesConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, taken := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateUser(ctx, NewUser{Username: "same", Password: "12345678"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrUsernameTaken):
				taken++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || taken != 7 {
		t.Fatalf("created %d, taken %d; want 1 and 7", ok, taken)
	}
}

func TestStationSetup(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if _, err := s.Station(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fresh db: err %v, want ErrNotFound", err)
	}

	// A bad admin password must roll back the station too.
	_, _, err := s.SetupStation(ctx, Setup{StationName: "Shop 1", AdminUsername: "admin", AdminPassword: "short"})
	if !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("err %v, want ErrWeakPassword", err)
	}
	if _, err := s.Station(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("station left behind by failed setup: %v", err)
	}
	if _, _, err := s.SetupStation(ctx, Setup{StationName: "  ", AdminUsername: "admin", AdminPassword: "12345678"}); !errors.Is(err, ErrInvalidStationName) {
		t.Fatalf("err %v, want ErrInvalidStationName", err)
	}

	st, admin, err := s.SetupStation(ctx, Setup{StationName: " Shop 1 ", AdminUsername: "Admin", AdminPassword: "12345678"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "Shop 1" || len(st.Key) != 64 || st.UUID == "" {
		t.Fatalf("station %+v", st)
	}
	if admin.Role != RoleAdmin || admin.Username != "admin" {
		t.Fatalf("admin %+v", admin)
	}
	got, err := s.Station(ctx)
	if err != nil || got.Key != st.Key {
		t.Fatalf("read back %+v %v", got, err)
	}
	if _, _, err := s.SetupStation(ctx, Setup{StationName: "Again", AdminUsername: "other", AdminPassword: "12345678"}); !errors.Is(err, ErrAlreadySetUp) {
		t.Fatalf("second setup: err %v, want ErrAlreadySetUp", err)
	}
	other, _ := NewStationKey()
	if other == st.Key {
		t.Fatal("station keys repeat")
	}
}

func TestSettingsTyped(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	lang, err := GetSetting(ctx, s, "ui.language", "en")
	if err != nil || lang != "en" {
		t.Fatalf("default: %q %v", lang, err)
	}
	if err := SetSetting(ctx, s, "ui.language", "zh-CN"); err != nil {
		t.Fatal(err)
	}
	if err := SetSetting(ctx, s, "ui.language", "zh-CN"); err != nil { // upsert
		t.Fatal(err)
	}
	if lang, _ = GetSetting(ctx, s, "ui.language", "en"); lang != "zh-CN" {
		t.Fatalf("got %q", lang)
	}
	if err := SetSetting(ctx, s, "install.parallel", 12); err != nil {
		t.Fatal(err)
	}
	n, err := GetSetting(ctx, s, "install.parallel", 0)
	if err != nil || n != 12 {
		t.Fatalf("int: %d %v", n, err)
	}
	type limits struct{ PerHub, PerPhone int }
	if err := SetSetting(ctx, s, "usb.limits", limits{40, 38}); err != nil {
		t.Fatal(err)
	}
	l, err := GetSetting(ctx, s, "usb.limits", limits{})
	if err != nil || l != (limits{40, 38}) {
		t.Fatalf("struct: %+v %v", l, err)
	}
	if _, err := GetSetting(ctx, s, "ui.language", 0); err == nil {
		t.Fatal("reading a string setting as int must fail")
	}
	all, err := s.Settings(ctx)
	if err != nil || len(all) != 3 || string(all["ui.language"]) != `"zh-CN"` {
		t.Fatalf("all: %v %v", all, err)
	}
}

func newSession(t *testing.T, s *Store) *InstallSession {
	t.Helper()
	sess := &InstallSession{UUID: uuid.NewString(), Serial: "emulator-5554", Outcome: OutcomeRunning, StartedAt: time.Now()}
	if err := s.DB.Create(sess).Error; err != nil {
		t.Fatal(err)
	}
	return sess
}

func TestInsertInstallRecordIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	sess := newSession(t, s)
	id := uuid.NewString()
	rec := InstallRecord{UUID: id, SessionID: sess.ID, Package: "com.example.a", Result: ResultInstalled}
	inserted, err := s.InsertInstallRecord(ctx, &rec)
	if err != nil || !inserted {
		t.Fatalf("first insert: %v %v", inserted, err)
	}
	dup := rec
	dup.Result = ResultFailed // a replay must not overwrite what was recorded first
	inserted, err = s.InsertInstallRecord(ctx, &dup)
	if err != nil || inserted {
		t.Fatalf("second insert: inserted=%v err=%v, want false nil", inserted, err)
	}
	var n int64
	s.DB.Model(&InstallRecord{}).Where("uuid = ?", id).Count(&n)
	if n != 1 {
		t.Fatalf("%d rows for one UUID", n)
	}
	got, err := s.InstallRecordByUUID(ctx, id)
	if err != nil || got.Result != ResultInstalled {
		t.Fatalf("got %+v %v", got, err)
	}
	if _, err := s.InsertInstallRecord(ctx, &InstallRecord{SessionID: sess.ID}); err == nil {
		t.Fatal("record without UUID accepted")
	}
	// Foreign keys are on: a record for a missing session is refused.
	if _, err := s.InsertInstallRecord(ctx, &InstallRecord{UUID: uuid.NewString(), SessionID: 9999}); err == nil {
		t.Fatal("record for a missing session accepted")
	}
}

// durabilityChild writes install records in a loop and prints each UUID after
// its transaction commits, until it is killed.
func durabilityChild(path string) int {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sess := &InstallSession{UUID: uuid.NewString(), Serial: "child", Outcome: OutcomeRunning, StartedAt: time.Now()}
	if err := s.DB.Create(sess).Error; err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		id := uuid.NewString()
		if _, err := s.InsertInstallRecord(ctx, &InstallRecord{UUID: id, SessionID: sess.ID, Package: fmt.Sprintf("com.example.p%d", i), Result: ResultInstalled}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := SetSetting(ctx, s, "child.counter", i); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintln(out, id)
		out.Flush()
	}
}

func TestDurabilitySIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "station.db")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var committed []string
	sc := bufio.NewScanner(stdout)
	const killAfter = 300
	killed := false
	for sc.Scan() {
		committed = append(committed, sc.Text())
		if !killed && len(committed) >= killAfter {
			// Kill mid-loop: the child is inside its next transaction by now.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child stopped after %d rows before being killed: %v", len(committed), err)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}

	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	var check string
	if err := s.DB.Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	var present []string
	if err := s.DB.Model(&InstallRecord{}).Pluck("uuid", &present).Error; err != nil {
		t.Fatal(err)
	}
	have := make(map[string]bool, len(present))
	for _, id := range present {
		have[id] = true
	}
	for _, id := range committed {
		if !have[id] {
			t.Fatalf("committed row %s missing after SIGKILL (%d reported, %d present)", id, len(committed), len(present))
		}
	}
	t.Logf("child reported %d committed rows, %d present after reopen; integrity_check ok", len(committed), len(present))
}

// Two station processes (a restart racing a dying one, or a test and a child)
// may open a new database at the same moment: each must see one migrated schema.
func TestOpenConcurrentlyMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "station.db")
	const n = 6
	errs := make(chan error, n)
	stores := make(chan *Store, n)
	for i := 0; i < n; i++ {
		go func() {
			s, err := Open(context.Background(), path)
			errs <- err
			stores <- s
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Errorf("open %d: %v", i, err)
		}
		if s := <-stores; s != nil {
			defer s.Close()
		}
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var rows int64
	if err := s.DB.Model(&SchemaVersion{}).Count(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != int64(SchemaVersionLatest()) {
		t.Fatalf("schema_versions has %d rows, want %d", rows, SchemaVersionLatest())
	}
}
