package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"preloadstation/backend/agent/wire"
	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/store"
)

// TestConfigureFromPhoneE2E: an unconfigured station, one virtual phone
// plugged; the agent opens its page on the phone; the phone's browser
// (headless Chromium) fills in the form; the station validates and applies it
// and the page shows "configured" — nobody touches the station's UI.
func TestConfigureFromPhoneE2E(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("chromium is not installed (apt install chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.HashCost = 4 // bcrypt's minimum: the test checks logic, not hashing cost
	cfg := &StoreConfigurator{Store: st}
	if !cfg.AllowFromPhones(ctx) {
		t.Fatal("an unconfigured station must allow configuration from phones by default")
	}
	r := newRig(t, rigOpts{phones: 1, mopts: Options{Config: cfg, Key: StoreKey(st), OpenPage: true}})
	ph := r.sim.Phones()[0]
	if ch, err := r.m.WaitReady(ctx, ph.Serial()); err != nil || ch == nil {
		t.Fatalf("no channel: %v", err)
	}
	// The agent opened its page in the phone's browser.
	var opened bool
	for deadline := time.Now().Add(10 * time.Second); !opened && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, in := range ph.Intents() {
			opened = opened || (in.Action == "android.intent.action.VIEW" && in.Data == "http://127.0.0.1:27184/")
		}
	}
	if !opened {
		t.Fatalf("page not opened on the phone; intents %+v", ph.Intents())
	}
	// Chromium plays the phone's browser: reach the phone's loopback page over adb.
	port, err := r.cl.Device(ph.Serial()).Forward(ctx, "tcp:27184")
	if err != nil {
		t.Fatal(err)
	}
	pageURL := fmt.Sprintf("http://127.0.0.1:%d/", port)

	b := startChromium(t, ctx, chromium)
	b.navigate(t, pageURL)
	b.waitFor(t, `!document.getElementById("formcard").hidden`, "true")

	// A weak password is refused by the station, and the page says why.
	b.eval(t, `(() => { const s = (id, v) => document.getElementById(id).value = v;
		s("stationName", "Shop 7"); s("username", "owner"); s("password", "short");
		document.getElementById("submit").click(); return true })()`)
	b.waitFor(t, `(document.getElementById("cfgmsg") || {}).textContent || ""`, "The password must be at least 8 characters.")
	if _, err := st.Station(ctx); err == nil {
		t.Fatal("a refused form configured the station")
	}

	// The message arrives over the page's event stream, which can beat the
	// answer to the POST that re-enables the button: wait as a person would.
	b.waitFor(t, `String(document.getElementById("submit").disabled)`, "false")
	b.eval(t, `(() => { document.getElementById("password").value = "correct horse";
		document.getElementById("submit").click(); return true })()`)
	b.waitFor(t, `(document.getElementById("configured") || {}).textContent || ""`, "Station configured")

	station, err := st.Station(ctx)
	if err != nil || station.Name != "Shop 7" {
		t.Fatalf("station after the form: %+v %v", station, err)
	}
	if _, err := st.Authenticate(ctx, "owner", "correct horse"); err != nil {
		t.Fatalf("operator from the form cannot log in: %v", err)
	}
	if op, _ := store.GetSetting(ctx, st, SettingOperator, ""); op != "owner" {
		t.Fatalf("operator setting %q", op)
	}
	if cfg.AllowFromPhones(ctx) {
		t.Fatal("configured station still allows configuration from phones by default")
	}
	// "Identify" from the station: the slot label full-screen.
	r.m.SetSlot(ph.Serial(), "A7")
	if err := r.m.Identify(ph.Serial(), true); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, `(() => { const e = document.getElementById("identify"); return getComputedStyle(e).display + " " + e.textContent })()`, "flex A7")
	r.m.Identify(ph.Serial(), false)
	b.waitFor(t, `getComputedStyle(document.getElementById("identify")).display`, "none")

	// Live install progress, pushed over the channel.
	if apktest.Available() == nil {
		p := apktest.Build(t, t.TempDir(), apktest.Spec{Package: "com.preload.shown", VersionCode: 1, Label: "Shown", PayloadBytes: 1 << 20})
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		if _, err := r.m.Install(ctx, ph.Serial(), wire.InstallRequest{Name: "Shown App", Package: "com.preload.shown", Size: fi.Size()}, f, nil); err != nil {
			t.Fatal(err)
		}
		f.Close()
		b.waitFor(t, `document.getElementById("installs").textContent`, "Shown App — installed")
	}

	// The same page in Chinese.
	b.navigate(t, pageURL+"?lang=zh")
	b.waitFor(t, `(document.getElementById("configured") || {}).textContent || ""`, "工作站已配置")
	b.waitFor(t, `document.getElementById("station").textContent`, "Shop 7")
}

// browser is headless Chromium driven over the DevTools protocol.
type browser struct {
	ws  *websocket.Conn
	id  int
	ctx context.Context
}

func startChromium(t *testing.T, ctx context.Context, bin string) *browser {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir="+dir, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var port string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort")); err == nil && len(strings.Split(string(b), "\n")) >= 2 {
			port = strings.Split(string(b), "\n")[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("chromium did not open its DevTools port")
		}
	}
	var targets []struct{ Type, WebSocketDebuggerURL string }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://127.0.0.1:" + port + "/json/list")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
		}
		if len(targets) > 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			ws, _, err := websocket.DefaultDialer.DialContext(ctx, tg.WebSocketDebuggerURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ws.Close() })
			return &browser{ws: ws, ctx: ctx}
		}
	}
	t.Fatalf("no page target in %+v", targets)
	return nil
}

func (b *browser) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	b.id++
	if err := b.ws.WriteJSON(map[string]any{"id": b.id, "method": method, "params": params}); err != nil {
		t.Fatal(err)
	}
	for {
		b.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		var m struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct{ Message string }
		}
		if err := b.ws.ReadJSON(&m); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if m.ID != b.id {
			continue // an event
		}
		if m.Error != nil {
			t.Fatalf("%s: %s", method, m.Error.Message)
		}
		return m.Result
	}
}

func (b *browser) navigate(t *testing.T, url string) {
	t.Helper()
	b.call(t, "Page.navigate", map[string]any{"url": url})
}

// eval runs a JS expression in the page and returns its value as text.
func (b *browser) eval(t *testing.T, expr string) string {
	t.Helper()
	raw := b.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct{ Text string } `json:"exceptionDetails"`
	}
	json.Unmarshal(raw, &r)
	if r.ExceptionDetails != nil {
		return "exception: " + r.ExceptionDetails.Text
	}
	return fmt.Sprint(r.Result.Value)
}

func (b *browser) waitFor(t *testing.T, expr, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = b.eval(t, expr); got == want {
			return
		}
	}
	t.Fatalf("page: %s = %q, want %q\nbody: %s", expr, got, want, b.eval(t, "document.body.innerText"))
}
