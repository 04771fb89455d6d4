package web

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxUpload bounds one uploaded file (the largest APKs are a few GB).
const maxUpload = 8 << 30

// maxChunk bounds one piece of a chunked upload (the page sends 1 MiB).
const maxChunk = 16 << 20

// chunkIdle is how long a chunked upload may wait for its next piece before
// its partial file is removed.
const chunkIdle = 10 * time.Minute

// uploadTarget is the bound method an uploaded file is handed to: the same
// LibraryService.AddFile the window calls with a dropped file's path.
const (
	uploadService = "LibraryService"
	uploadMethod  = "AddFile"
)

var uploadIDRE = regexp.MustCompile(`^[A-Za-z0-9-]{8,64}$`)

// uploader answers POST /api/upload: the page has the bytes of an APK (a
// browser drop, the file picker), not its path. The file is written to a
// temporary file named like the original (the library records the file
// name), handed to LibraryService.AddFile, and removed; the answer has the
// shape of /api/call. The octet-stream content type forces a CORS
// preflight, which is never answered.
//
// A file comes whole in one body, or in pieces (X-Upload-Id, X-Offset,
// X-Total), in order. The desktop window sends pieces: WebKitGTK crashes
// the process when a custom-scheme request body is backed by a Blob or File
// (wails#5845, #6068), so the page sends each piece as an ArrayBuffer.
type uploader struct {
	bridge *Bridge
	log    *slog.Logger

	mu      sync.Mutex
	partial map[string]*partialUpload
}

type partialUpload struct {
	dir, path, name  string
	size, total      int64
	started, touched time.Time
}

func newUploader(b *Bridge, log *slog.Logger) *uploader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &uploader{bridge: b, log: log, partial: map[string]*partialUpload{}}
}

// UploadHandler serves POST /api/upload alone, for the desktop window's
// asset server (Wails hands it every request its assets do not answer).
// Anything else is 404.
func UploadHandler(b *Bridge, log *slog.Logger) http.Handler {
	u := newUploader(b, log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/upload" {
			http.NotFound(w, r)
			return
		}
		u.ServeHTTP(w, r)
	})
}

func uploadErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": &CallError{Code: code, Message: msg}})
}

func (u *uploader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/octet-stream") {
		uploadErr(w, http.StatusUnsupportedMediaType, CodeBadRequest, "Content-Type must be application/octet-stream")
		return
	}
	name, err := url.PathUnescape(r.Header.Get("X-File-Name"))
	name = filepath.Base(filepath.Clean("/" + name))
	if err != nil || name == "/" || name == "." || name == "" {
		uploadErr(w, http.StatusBadRequest, CodeBadRequest, "X-File-Name header missing or invalid")
		return
	}
	if id := r.Header.Get("X-Upload-Id"); id != "" {
		u.chunk(w, r, id, name)
		return
	}
	dir, err := os.MkdirTemp("", "preload-upload-")
	if err != nil {
		uploadErr(w, http.StatusInternalServerError, CodeInternal, "upload: "+err.Error())
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, name)
	start := time.Now()
	n, err := saveBody(path, http.MaxBytesReader(w, r.Body, maxUpload), false)
	if err != nil {
		uploadErr(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("upload of %s failed after %d bytes: %v", name, n, err))
		return
	}
	u.add(w, r, path, name, n, start)
}

// chunk takes one piece of a chunked upload; the last piece adds the file.
func (u *uploader) chunk(w http.ResponseWriter, r *http.Request, id, name string) {
	offset, err1 := strconv.ParseInt(r.Header.Get("X-Offset"), 10, 64)
	total, err2 := strconv.ParseInt(r.Header.Get("X-Total"), 10, 64)
	if !uploadIDRE.MatchString(id) || err1 != nil || err2 != nil || offset < 0 || total < 0 || total > maxUpload {
		uploadErr(w, http.StatusBadRequest, CodeBadRequest, "X-Upload-Id, X-Offset or X-Total missing or invalid")
		return
	}
	u.mu.Lock()
	u.sweepLocked(time.Now())
	p := u.partial[id]
	if offset == 0 && p != nil { // the page started this file again
		os.RemoveAll(p.dir)
		delete(u.partial, id)
		p = nil
	}
	if p == nil && offset == 0 {
		dir, err := os.MkdirTemp("", "preload-upload-")
		if err != nil {
			u.mu.Unlock()
			uploadErr(w, http.StatusInternalServerError, CodeInternal, "upload: "+err.Error())
			return
		}
		now := time.Now()
		p = &partialUpload{dir: dir, path: filepath.Join(dir, name), name: name, total: total, started: now, touched: now}
		u.partial[id] = p
	}
	if p == nil || p.size != offset || p.total != total || p.name != name {
		want := int64(0)
		if p != nil {
			want = p.size
		}
		u.mu.Unlock()
		uploadErr(w, http.StatusConflict, CodeBadRequest, fmt.Sprintf("upload %s: a piece at byte %d, expected byte %d", name, offset, want))
		return
	}
	delete(u.partial, id) // this request owns it until it is put back
	u.mu.Unlock()

	n, err := saveBody(p.path, http.MaxBytesReader(w, r.Body, maxChunk), offset > 0)
	p.size += n
	if err == nil && p.size > p.total {
		err = fmt.Errorf("%d bytes, more than the %d announced", p.size, p.total)
	}
	if err != nil {
		os.RemoveAll(p.dir)
		uploadErr(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("upload of %s failed after %d bytes: %v", name, p.size, err))
		return
	}
	if p.size < p.total {
		p.touched = time.Now()
		u.mu.Lock()
		u.partial[id] = p
		u.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"received": p.size})
		return
	}
	defer os.RemoveAll(p.dir)
	u.add(w, r, p.path, name, p.size, p.started)
}

// sweepLocked removes chunked uploads the page gave up on.
func (u *uploader) sweepLocked(now time.Time) {
	for id, p := range u.partial {
		if now.Sub(p.touched) > chunkIdle {
			os.RemoveAll(p.dir)
			delete(u.partial, id)
		}
	}
}

// add hands a complete upload to the library and answers like /api/call.
func (u *uploader) add(w http.ResponseWriter, r *http.Request, path, name string, n int64, start time.Time) {
	arg, _ := json.Marshal(path)
	result, err := u.bridge.Call(r.Context(), uploadService, uploadMethod, []json.RawMessage{arg})
	if err != nil {
		ce := FormatError(err).(*CallError)
		u.log.Info("upload refused", "file", name, "bytes", n, "code", ce.Code)
		writeJSON(w, http.StatusOK, map[string]any{"error": ce})
		return
	}
	u.log.Info("upload", "file", name, "bytes", n, "took", time.Since(start))
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
}

func saveBody(path string, body io.Reader, appendTo bool) (int64, error) {
	flags := os.O_CREATE | os.O_EXCL | os.O_WRONLY
	if appendTo {
		flags = os.O_APPEND | os.O_WRONLY
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}
