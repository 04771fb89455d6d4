package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/store"
)

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestAPI(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			skipNoPG(t, db)
			testAPI(t, db.dsn(t))
		})
	}
}

func testAPI(t *testing.T, dsn string) {
	ctx := context.Background()
	e := newEnv(t, dsn, nil)

	// --- registration: one-time codes
	if st, code := e.call("POST", "/api/v1/stations/register", "", "", map[string]string{"code": "AAAAA-BBBBB", "name": "x"}, nil); st != 401 || code != CodeBadCode {
		t.Fatalf("wrong code: %d %s", st, code)
	}
	code, _ := e.cat.NewStationCode(ctx, time.Hour)
	if st, c := e.call("POST", "/api/v1/stations/register", "", "", map[string]string{"code": code, "name": ""}, nil); st != 400 || c != CodeBadRequest {
		t.Fatalf("empty name: %d %s", st, c)
	}
	var reg struct{ StationID, Key string }
	if st, c := e.call("POST", "/api/v1/stations/register", "", "", map[string]string{"code": strings.ToLower(code), "name": "Shop 2"}, &reg); st != 201 || reg.Key == "" {
		t.Fatalf("register: %d %s", st, c)
	}
	if st, c := e.call("POST", "/api/v1/stations/register", "", "", map[string]string{"code": code, "name": "Shop 3"}, nil); st != 401 || c != CodeBadCode {
		t.Fatalf("code reused: %d %s", st, c)
	}
	expired, _ := e.cat.NewStationCode(ctx, time.Minute)
	e.clk.Add(2 * time.Minute)
	if st, _ := e.call("POST", "/api/v1/stations/register", "", "", map[string]string{"code": expired, "name": "late"}, nil); st != 401 {
		t.Fatalf("expired code accepted: %d", st)
	}
	otherKey := reg.Key
	e.registerStation()
	key := e.key()

	// --- station auth and input checks
	if st, c := e.call("GET", "/api/v1/apps", "", "", nil, nil); st != 401 || c != CodeUnauthorized {
		t.Fatalf("no key: %d %s", st, c)
	}
	if st, _ := e.call("GET", "/api/v1/apps", "wrong", "", nil, nil); st != 401 {
		t.Fatalf("wrong key: %d", st)
	}
	if st, c := e.call("POST", "/api/v1/login", key, "", []byte(`{"username":"root","password":"x","extra":1}`), nil); st != 400 || c != CodeBadRequest {
		t.Fatalf("unknown field: %d %s", st, c)
	}
	if st, c := e.call("POST", "/api/v1/login", key, "", bytes.Repeat([]byte(" "), MaxJSONBody+10), nil); st != 413 || c != CodeTooLarge {
		t.Fatalf("huge body: %d %s", st, c)
	}

	// --- users, login, rate limit, token scope and expiry
	if _, err := e.cat.AddUser(ctx, "alice", "alicepass", "operator", "north"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.AddUser(ctx, "alice", "alicepass", "operator", ""); ErrorCode(err) != "conflict" {
		t.Fatalf("duplicate user: %v", err)
	}
	if _, err := e.cat.AddUser(ctx, "bad name", "alicepass", "", ""); ErrorCode(err) != CodeBadRequest {
		t.Fatalf("bad username: %v", err)
	}
	for i := 0; i < 5; i++ {
		if st, c := e.call("POST", "/api/v1/login", key, "", map[string]string{"username": "alice", "password": "wrong"}, nil); st != 401 || c != CodeUnauthorized {
			t.Fatalf("wrong password %d: %d %s", i, st, c)
		}
	}
	if st, c := e.call("POST", "/api/v1/login", key, "", map[string]string{"username": "alice", "password": "alicepass"}, nil); st != 429 || c != CodeRateLimited {
		t.Fatalf("6th attempt not limited: %d %s", st, c)
	}
	// Another user from the same IP is not locked out by alice's failures.
	if st, _ := e.call("POST", "/api/v1/login", key, "", map[string]string{"username": "root", "password": "rootpass1"}, nil); st != 200 {
		t.Fatalf("root locked out by alice: %d", st)
	}
	e.clk.Add(6 * time.Minute)
	var alice LoginResponse
	if st, c := e.call("POST", "/api/v1/login", key, "", map[string]string{"username": "alice", "password": "alicepass"}, &alice); st != 200 || alice.Token == "" || alice.User.Role != "operator" {
		t.Fatalf("login after window: %d %s", st, c)
	}
	if st, c := e.call("GET", "/api/v1/list", otherKey, alice.Token, nil, nil); st != 401 || c != CodeUnauthorized {
		t.Fatalf("token used on another station: %d %s", st, c)
	}
	if st, c := e.call("POST", "/api/v1/apps", key, alice.Token, []byte("x"), nil); st != 403 || c != CodeForbidden {
		t.Fatalf("operator uploads: %d %s", st, c)
	}

	// --- apps: upload, duplicate, bad APK, size cap
	dir := t.TempDir()
	var apps [][]byte
	for i, spec := range []apktest.Spec{
		{Package: "com.example.maps", VersionCode: 3, VersionName: "3.0", Label: "Maps", LabelZH: "地图", PayloadBytes: 64 << 10, Icon: true},
		{Package: "com.example.chat", VersionCode: 9, VersionName: "9", Label: "Chat", ABIs: []string{"arm64-v8a", "armeabi-v7a"}},
		{Package: "com.example.pay", VersionCode: 1, VersionName: "1", Label: "Pay"},
	} {
		b, err := os.ReadFile(apktest.Build(t, dir, spec))
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, b)
		var up UploadResponse
		if st, c := e.call("POST", "/api/v1/apps?filename=a.apk", key, e.admin, b, &up); st != 201 || up.Duplicate || up.App.SHA256 != sha(b) || up.App.Package != spec.Package {
			t.Fatalf("upload %d: %d %s %+v", i, st, c, up)
		}
	}
	var up UploadResponse
	if st, _ := e.call("POST", "/api/v1/apps", key, e.admin, apps[0], &up); st != 200 || !up.Duplicate || up.App.LabelZH != "地图" {
		t.Fatalf("duplicate upload: %d %+v", st, up)
	}
	if st, c := e.call("POST", "/api/v1/apps", key, e.admin, []byte("PK not really"), nil); st != 422 || c != CodeBadAPK {
		t.Fatalf("bad APK: %d %s", st, c)
	}
	e.srv.MaxUpload = 1000
	if st, c := e.call("POST", "/api/v1/apps", key, e.admin, apps[0], nil); st != 413 || c != CodeTooLarge {
		t.Fatalf("oversize: %d %s", st, c)
	}
	e.srv.MaxUpload = 0
	var list struct{ Apps []App }
	if e.call("GET", "/api/v1/apps", key, "", nil, &list); len(list.Apps) != 3 {
		t.Fatalf("want 3 apps, got %d", len(list.Apps))
	}

	// --- download: ETag = SHA-256, Range, If-Range
	s0 := sha(apps[0])
	req, _ := http.NewRequest("GET", e.url+"/api/v1/apps/"+s0+"/apk", nil)
	req.Header.Set("X-Station-Key", key)
	req.Header.Set("Range", "bytes=100-")
	req.Header.Set("If-Range", `"`+s0+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || resp.Header.Get("ETag") != `"`+s0+`"` || !bytes.Equal(body, apps[0][100:]) {
		t.Fatalf("range download: %d etag %q, %d bytes", resp.StatusCode, resp.Header.Get("ETag"), len(body))
	}
	ireq, _ := http.NewRequest("GET", e.url+"/api/v1/apps/"+s0+"/icon", nil)
	ireq.Header.Set("X-Station-Key", key)
	iresp, err := http.DefaultClient.Do(ireq)
	if err != nil {
		t.Fatal(err)
	}
	png, _ := io.ReadAll(iresp.Body)
	iresp.Body.Close()
	if iresp.StatusCode != 200 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("icon: %d, %d bytes", iresp.StatusCode, len(png))
	}
	if st, c := e.call("GET", "/api/v1/apps/"+sha(apps[1])+"/icon", key, "", nil, nil); st != 404 || c != CodeNotFound {
		t.Fatalf("no icon: %d %s", st, c)
	}
	if st, c := e.call("GET", "/api/v1/apps/"+strings.ToUpper(s0)+"/apk", key, "", nil, nil); st != 400 || c != CodeBadRequest {
		t.Fatalf("bad sha: %d %s", st, c)
	}
	if st, c := e.call("GET", "/api/v1/apps/"+sha([]byte("x"))+"/apk", key, "", nil, nil); st != 404 || c != CodeNotFound {
		t.Fatalf("unknown sha: %d %s", st, c)
	}

	// --- lists and the optimized list
	if st, c := e.call("GET", "/api/v1/list", key, alice.Token, nil, nil); st != 404 || c != CodeNoList {
		t.Fatalf("no list yet: %d %s", st, c)
	}
	put := func(name string, spec ListSpec) (int, string) {
		return e.call("PUT", "/api/v1/lists/"+name, key, e.admin, spec, nil)
	}
	if st, c := put("default", ListSpec{Apps: []string{"com.example.pay"}}); st != 200 {
		t.Fatalf("default list: %d %s", st, c)
	}
	if st, c := put("north", ListSpec{Group: "north", Apps: []string{"com.example.chat", s0}}); st != 200 {
		t.Fatalf("group list: %d %s", st, c)
	}
	if st, c := put("bad", ListSpec{Apps: []string{"com.example.nope"}}); st != 404 || c != CodeNotFound {
		t.Fatalf("unknown app: %d %s", st, c)
	}
	if st, c := put("bad", ListSpec{Apps: []string{"drop table"}}); st != 400 {
		t.Fatalf("junk app ref: %d %s", st, c)
	}
	if st, c := put("bad", ListSpec{Apps: []string{s0, "com.example.maps"}}); st != 400 {
		t.Fatalf("app twice: %d %s", st, c)
	}
	var ol OptimizedList
	e.call("GET", "/api/v1/list", key, alice.Token, nil, &ol)
	if ol.Name != "north" || len(ol.Items) != 2 || ol.Items[0].App.Package != "com.example.chat" || ol.Items[1].App.SHA256 != s0 {
		t.Fatalf("group list for alice: %+v", ol)
	}
	if st, c := put("bad", ListSpec{Apps: []string{"com.example.maps"}, First: []string{"com.example.pay"}}); st != 400 {
		t.Fatalf("first names an app not on the list: %d %s", st, c)
	}
	if _, err := e.cat.SetList(ctx, "alice's", ListSpec{Operator: "alice", Apps: []string{"com.example.maps", "com.example.pay", "com.example.chat"},
		First: []string{"com.example.pay"}}); err != nil {
		t.Fatal(err)
	}
	e.call("GET", "/api/v1/list", key, alice.Token, nil, &ol)
	// Served in install order: the marked app first, then list order.
	if ol.Name != "alice's" || len(ol.Items) != 3 || ol.Items[0].App.Package != "com.example.pay" || ol.Items[0].Priority != store.PriorityFirst ||
		ol.Items[0].Position != 1 || ol.Items[1].App.Package != "com.example.maps" || ol.Items[1].Priority != store.PriorityNormal ||
		ol.Items[2].App.Package != "com.example.chat" || ol.Items[2].Priority != store.PriorityNormal {
		t.Fatalf("operator list for alice (pay marked first, the rest in list order): %+v", ol)
	}
	var rootList OptimizedList
	e.call("GET", "/api/v1/list", key, e.admin, nil, &rootList)
	if rootList.Name != "default" {
		t.Fatalf("root gets %q, want default", rootList.Name)
	}
	// The station's configuration can name its list (beats the default).
	var me StationInfo
	e.call("GET", "/api/v1/station", key, "", nil, &me)
	if st, c := e.call("PUT", "/api/v1/stations/"+me.ID+"/config", key, e.admin, map[string]any{"list": "north", "language": "zh-CN"}, nil); st != 200 {
		t.Fatalf("config: %d %s", st, c)
	}
	if st, _ := e.call("PUT", "/api/v1/stations/"+me.ID+"/config", key, e.admin, []byte(`[1]`), nil); st != 400 {
		t.Fatalf("non-object config: %d", st)
	}
	e.call("GET", "/api/v1/station", key, "", nil, &me)
	if !strings.Contains(string(me.Config), `"zh-CN"`) || me.Name != "Shop 1" {
		t.Fatalf("station info %+v", me)
	}
	e.call("GET", "/api/v1/list", key, e.admin, nil, &rootList)
	if rootList.Name != "north" {
		t.Fatalf("station-configured list: got %q", rootList.Name)
	}

	// --- reports: idempotent by UUID, invalid ones rejected one by one
	mk := func(i int) ReportIn {
		return ReportIn{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Package: "com.example.maps", Result: "installed",
			SHA256: s0, Bytes: 10, Serial: "emu-1", Operator: "alice", StartedAt: time.Now(), EndedAt: time.Now()}
	}
	batch := []ReportIn{mk(1), mk(2), mk(2), mk(3)}
	bad := mk(4)
	bad.Result = "maybe"
	batch = append(batch, bad)
	var ir IngestResult
	if st, c := e.call("POST", "/api/v1/reports", key, "", map[string]any{"records": batch}, &ir); st != 200 {
		t.Fatalf("reports: %d %s", st, c)
	}
	if ir.Accepted != 3 || ir.Duplicate != 1 || len(ir.Rejected) != 1 || ir.Rejected[0].UUID != bad.UUID {
		t.Fatalf("first batch %+v", ir)
	}
	e.call("POST", "/api/v1/reports", key, "", map[string]any{"records": []ReportIn{mk(1), mk(3), mk(5)}}, &ir)
	if ir.Accepted != 1 || ir.Duplicate != 2 {
		t.Fatalf("second batch %+v", ir)
	}
	var n int64
	e.cat.DB.Model(&Report{}).Count(&n)
	if n != 4 {
		t.Fatalf("%d reports stored, want 4", n)
	}
	big := make([]ReportIn, MaxReportsBatch+1)
	for i := range big {
		big[i] = mk(100 + i)
	}
	if st, _ := e.call("POST", "/api/v1/reports", key, "", map[string]any{"records": big}, nil); st != 400 {
		t.Fatalf("oversized batch: %d", st)
	}

	// --- token expiry and logout
	e.call("POST", "/api/v1/logout", key, alice.Token, nil, nil)
	if st, _ := e.call("GET", "/api/v1/list", key, alice.Token, nil, nil); st != 401 {
		t.Fatalf("token works after logout: %d", st)
	}
	e.clk.Add(13 * time.Hour)
	if st, _ := e.call("GET", "/api/v1/list", key, e.admin, nil, nil); st != 401 {
		t.Fatalf("expired token accepted: %d", st)
	}
	if st, c := e.call("GET", "/api/v1/nope", key, "", nil, nil); st != 404 || c != CodeNotFound {
		t.Fatalf("unknown route: %d %s", st, c)
	}
}
