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
	"strings"
	"time"
)

// maxUpload bounds one uploaded file (the largest APKs are a few GB).
const maxUpload = 8 << 30

// uploadTarget is the bound method an uploaded file is handed to: the same
// LibraryService.AddFile the window calls with a dropped file's path.
const (
	uploadService = "LibraryService"
	uploadMethod  = "AddFile"
)

// handleUpload is POST /api/upload: a browser on `serve` has the bytes of a
// dropped APK, not its path. The body is streamed to a temporary file named
// like the original (the library records the file name), handed to
// LibraryService.AddFile, and removed; the answer has the shape of /api/call.
// The octet-stream content type forces a CORS preflight, which is never answered.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	serveUpload(w, r, s.bridge, s.opts.Log)
}

// UploadHandler serves POST /api/upload alone, for the desktop window's
// asset server (Wails hands it every request its assets do not answer): the
// window's file picker and a drop that carries no file path give the page
// File objects, whose bytes come here. Anything else is 404.
func UploadHandler(b *Bridge, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/upload" {
			http.NotFound(w, r)
			return
		}
		serveUpload(w, r, b, log)
	})
}

func serveUpload(w http.ResponseWriter, r *http.Request, bridge *Bridge, log *slog.Logger) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/octet-stream") {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"error": &CallError{Code: CodeBadRequest, Message: "Content-Type must be application/octet-stream"}})
		return
	}
	name, err := url.PathUnescape(r.Header.Get("X-File-Name"))
	name = filepath.Base(filepath.Clean("/" + name))
	if err != nil || name == "/" || name == "." || name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": &CallError{Code: CodeBadRequest, Message: "X-File-Name header missing or invalid"}})
		return
	}
	dir, err := os.MkdirTemp("", "preload-upload-")
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": &CallError{Code: CodeInternal, Message: "upload: " + err.Error()}})
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, name)
	start := time.Now()
	n, err := saveBody(path, http.MaxBytesReader(w, r.Body, maxUpload))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": &CallError{Code: CodeBadRequest, Message: fmt.Sprintf("upload of %s failed after %d bytes: %v", name, n, err)}})
		return
	}
	arg, _ := json.Marshal(path)
	result, err := bridge.Call(r.Context(), uploadService, uploadMethod, []json.RawMessage{arg})
	if err != nil {
		ce := FormatError(err).(*CallError)
		log.Info("upload refused", "file", name, "bytes", n, "code", ce.Code)
		writeJSON(w, http.StatusOK, map[string]any{"error": ce})
		return
	}
	log.Info("upload", "file", name, "bytes", n, "took", time.Since(start))
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
}

func saveBody(path string, body io.Reader) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}
