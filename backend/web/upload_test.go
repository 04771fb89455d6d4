package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// LibraryService stands in for the bound service uploads are handed to: it
// reads the file while AddFile runs, like the real library copies it into its cache.
type LibraryService struct {
	gotName string
	gotData []byte
	gotPath string
}

func (l *LibraryService) AddFile(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte("PK")) {
		return nil, codedErr{}
	}
	l.gotName, l.gotData, l.gotPath = filepath.Base(path), b, path
	return map[string]any{"duplicate": false, "app": map[string]any{"fileName": filepath.Base(path)}}, nil
}

func upload(t *testing.T, url, name, ctype string, body []byte) (int, callResp) {
	t.Helper()
	h := map[string]string{"Content-Type": ctype}
	if name != "" {
		h["X-File-Name"] = name
	}
	var out callResp
	return postUpload(t, url, h, body, &out), out
}

// postUpload posts body to /api/upload with headers h and decodes the
// answer into out.
func postUpload(t *testing.T, url string, h map[string]string, body []byte, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/upload", bytes.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

func TestUploadHandsFileToLibrary(t *testing.T) {
	lib := &LibraryService{}
	ts := newServer(t, Options{Services: []any{lib}})
	data := append([]byte("PK\x03\x04"), bytes.Repeat([]byte("x"), 3<<20)...)

	status, out := upload(t, ts.URL, "%E5%BE%AE%E4%BF%A1%20v8.apk", "application/octet-stream", data)
	if status != 200 || out.Error != nil {
		t.Fatalf("upload: %d %+v", status, out.Error)
	}
	if lib.gotName != "微信 v8.apk" || !bytes.Equal(lib.gotData, data) {
		t.Fatalf("library got %q, %d bytes", lib.gotName, len(lib.gotData))
	}
	if _, err := os.Stat(lib.gotPath); !os.IsNotExist(err) {
		t.Fatalf("temporary upload left behind: %v", err)
	}
	if !strings.Contains(string(out.Result), "微信 v8.apk") {
		t.Fatalf("result %s", out.Result)
	}

	// A bad file: the service's error comes back with its code.
	if _, out := upload(t, ts.URL, "bad.apk", "application/octet-stream", []byte("not a zip")); out.Error == nil || out.Error.Code != "custom_code" {
		t.Fatalf("bad file: %+v", out.Error)
	}
	// Path tricks keep only the base name.
	if _, out := upload(t, ts.URL, "..%2F..%2Fevil.apk", "application/octet-stream", data); out.Error != nil || lib.gotName != "evil.apk" {
		t.Fatalf("traversal: %+v %q", out.Error, lib.gotName)
	}
	if status, _ := upload(t, ts.URL, "a.apk", "text/plain", data); status != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain upload: %d", status)
	}
	if status, _ := upload(t, ts.URL, "", "application/octet-stream", data); status != http.StatusBadRequest {
		t.Fatalf("no name: %d", status)
	}
}

// TestDesktopUploadHandler: the desktop window's asset-server handler takes
// the same uploads and answers nothing else.
func TestDesktopUploadHandler(t *testing.T) {
	lib, ts := startUploadHandler(t)
	data := append([]byte("PK\x03\x04"), bytes.Repeat([]byte("y"), 1<<20)...)
	if status, out := upload(t, ts.URL, "picked.apk", "application/octet-stream", data); status != 200 || out.Error != nil ||
		lib.gotName != "picked.apk" || !bytes.Equal(lib.gotData, data) {
		t.Fatalf("upload: %d %+v, library got %q (%d bytes)", status, out.Error, lib.gotName, len(lib.gotData))
	}
	for _, probe := range []struct{ method, path string }{{"GET", "/api/upload"}, {"POST", "/api/call"}, {"GET", "/secret"}} {
		req, _ := http.NewRequest(probe.method, ts.URL+probe.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", probe.method, probe.path, res.StatusCode)
		}
	}
}

// chunkUp sends one piece of a chunked upload.
func chunkUp(t *testing.T, url, id, name string, offset, total int, piece []byte) (int, map[string]json.RawMessage) {
	t.Helper()
	out := map[string]json.RawMessage{}
	status := postUpload(t, url, map[string]string{"Content-Type": "application/octet-stream", "X-File-Name": name,
		"X-Upload-Id": id, "X-Offset": strconv.Itoa(offset), "X-Total": strconv.Itoa(total)}, piece, &out)
	return status, out
}

// TestChunkedUpload: the desktop window sends a file in pieces; the last
// piece hands the whole file to the library. Pieces out of order, a file
// larger than announced and junk ids are refused, and nothing is added.
func TestChunkedUpload(t *testing.T) {
	lib, ts := startUploadHandler(t)
	data := append([]byte("PK\x03\x04"), bytes.Repeat([]byte("z"), 2_500_000)...)
	const piece = 1 << 20
	for off := 0; off < len(data); off += piece {
		end := min(off+piece, len(data))
		status, out := chunkUp(t, ts.URL, "0123456789abcdef", "big.apk", off, len(data), data[off:end])
		if status != 200 || out["error"] != nil {
			t.Fatalf("piece at %d: %d %s", off, status, out["error"])
		}
		if end < len(data) {
			if lib.gotName != "" || string(out["received"]) != strconv.Itoa(end) {
				t.Fatalf("after piece at %d: received %s, library got %q", off, out["received"], lib.gotName)
			}
		} else if out["result"] == nil {
			t.Fatalf("last piece: no result: %v", out)
		}
	}
	if lib.gotName != "big.apk" || !bytes.Equal(lib.gotData, data) {
		t.Fatalf("library got %q, %d of %d bytes", lib.gotName, len(lib.gotData), len(data))
	}
	if _, err := os.Stat(lib.gotPath); !os.IsNotExist(err) {
		t.Fatalf("temporary upload left behind: %v", err)
	}

	lib.gotName = ""
	// A piece that skips ahead.
	chunkUp(t, ts.URL, "skipping-ahead", "s.apk", 0, 30, make([]byte, 10))
	if status, out := chunkUp(t, ts.URL, "skipping-ahead", "s.apk", 20, 30, make([]byte, 10)); status != http.StatusConflict || out["error"] == nil {
		t.Fatalf("piece out of order: %d %v", status, out)
	}
	// More bytes than announced.
	if status, out := chunkUp(t, ts.URL, "too-long-file", "l.apk", 0, 5, make([]byte, 10)); status != http.StatusBadRequest || out["error"] == nil {
		t.Fatalf("longer than announced: %d %v", status, out)
	}
	// A piece for an upload that never began.
	if status, _ := chunkUp(t, ts.URL, "never-began", "n.apk", 10, 20, make([]byte, 10)); status != http.StatusConflict {
		t.Fatalf("piece without a start: %d", status)
	}
	if status, _ := chunkUp(t, ts.URL, "../../etc", "x.apk", 0, 1, []byte("x")); status != http.StatusBadRequest {
		t.Fatalf("junk upload id: %d", status)
	}
	if lib.gotName != "" {
		t.Fatalf("a refused upload reached the library: %q", lib.gotName)
	}
}

// startUploadHandler serves UploadHandler (the desktop window's route) in
// front of a fake library until the test ends.
func startUploadHandler(t *testing.T) (*LibraryService, *httptest.Server) {
	t.Helper()
	lib := &LibraryService{}
	b, err := NewBridge(lib)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(UploadHandler(b, nil))
	t.Cleanup(ts.Close)
	return lib, ts
}
