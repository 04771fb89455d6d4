package library

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"preloadstation/backend/events"
)

// Source makes the HTTP request that downloads one APK by hash (the catalog
// client adds its URL and credentials). Fetch adds Range headers itself.
type Source interface {
	DownloadRequest(ctx context.Context, sha string) (*http.Request, error)
}

// Want is one APK to have in the cache.
type Want struct {
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Package string `json:"package"`
	Label   string `json:"label"`
}

// Progress is the payload of events.LibraryProgress.
type Progress struct {
	State      string `json:"state"` // "downloading", "done", "failed", "idle"
	SHA256     string `json:"sha256,omitempty"`
	Package    string `json:"package,omitempty"`
	Label      string `json:"label,omitempty"`
	Error      string `json:"error,omitempty"`
	ErrorCode  string `json:"errorCode,omitempty"`
	FilesDone  int    `json:"filesDone"`
	FilesTotal int    `json:"filesTotal"`
	FilesFail  int    `json:"filesFailed"`
	BytesDone  int64  `json:"bytesDone"`
	BytesTotal int64  `json:"bytesTotal"`
}

// Downloader fills the cache from a Source: resumable (HTTP Range, partial
// files kept as .part), verified (size + SHA-256 before the file gets its
// name), bounded in parallelism, with throttled progress events.
type Downloader struct {
	Cache    *Cache
	Source   Source
	HTTP     *http.Client           // nil = http.DefaultClient
	Emit     events.Emitter         // nil = no events
	Parallel int                    // files at once; 0 = 4
	Attempts int                    // tries per file; 0 = 8
	Backoff  time.Duration          // first retry delay; 0 = 500ms, doubled each time, capped at 30s
	Stall    time.Duration          // no byte for this long aborts the attempt; 0 = 30s
	Keep     func() map[string]bool // hashes eviction must not touch (the active list's), read once per Prefetch

	mu     sync.Mutex
	status Progress
}

func (d *Downloader) emit(p Progress) {
	d.mu.Lock()
	d.status = p
	d.mu.Unlock()
	if d.Emit != nil {
		d.Emit.Emit(events.LibraryProgress, p)
	}
}

// Status is the last progress reported.
func (d *Downloader) Status() Progress {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.status.State == "" {
		return Progress{State: "idle"}
	}
	return d.status
}

// Result sums up one Prefetch.
type Result struct {
	Files      int           `json:"files"`
	Cached     int           `json:"cached"`     // already in the cache
	Downloaded int           `json:"downloaded"` // fetched now
	Failed     int           `json:"failed"`
	Bytes      int64         `json:"bytes"` // bytes received over the network
	Elapsed    time.Duration `json:"elapsedNs"`
}

// Prefetch makes sure every wanted APK is in the cache, Parallel at a time.
// It returns when all are done or failed; the error joins every failure.
func (d *Downloader) Prefetch(ctx context.Context, wants []Want) (Result, error) {
	start := time.Now()
	par := d.Parallel
	if par <= 0 {
		par = 4
	}
	wanted := map[string]bool{}
	var total int64
	for _, w := range wants {
		wanted[w.SHA256] = true
		total += w.Size
	}
	var needed map[string]bool
	if d.Keep != nil {
		needed = d.Keep()
	}
	keep := func(sha string) bool { return wanted[sha] || needed == nil && d.Keep != nil || needed[sha] }

	var (
		res      = Result{Files: len(wants)}
		resMu    sync.Mutex
		errs     []error
		received atomic.Int64
		done     atomic.Int64 // bytes of finished files + received of running ones
		filesOK  atomic.Int32
		filesBad atomic.Int32
		thr      = throttle{every: 100 * time.Millisecond}
	)
	snapshot := func(state string, w Want, err error) Progress {
		p := Progress{State: state, SHA256: w.SHA256, Package: w.Package, Label: w.Label,
			FilesDone: int(filesOK.Load()), FilesFail: int(filesBad.Load()), FilesTotal: len(wants),
			BytesDone: done.Load(), BytesTotal: total}
		if err != nil {
			p.Error, p.ErrorCode = err.Error(), CodeOf(err)
		}
		return p
	}
	d.emit(snapshot("downloading", Want{}, nil))

	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, w := range wants {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(w Want) {
			defer wg.Done()
			defer func() { <-sem }()
			if d.Cache.Verified(w.SHA256, w.Size) {
				done.Add(w.Size)
				filesOK.Add(1)
				resMu.Lock()
				res.Cached++
				resMu.Unlock()
				d.emit(snapshot("downloading", w, nil))
				return
			}
			d.Cache.Evict(w.Size, keep)
			var mine int64
			err := d.fetch(ctx, w, func(n int64) {
				mine += n
				received.Add(n)
				done.Add(n)
				if thr.ok() {
					d.emit(snapshot("downloading", w, nil))
				}
			}, func() { done.Add(-mine); mine = 0 })
			resMu.Lock()
			defer resMu.Unlock()
			if err != nil {
				filesBad.Add(1)
				res.Failed++
				errs = append(errs, fmt.Errorf("%s (%s): %w", w.Package, w.SHA256, err))
				d.emit(snapshot("failed", w, err))
				return
			}
			done.Add(w.Size - mine) // a resumed file counts its earlier bytes too
			filesOK.Add(1)
			res.Downloaded++
			d.emit(snapshot("downloading", w, nil))
		}(w)
	}
	wg.Wait()
	res.Bytes = received.Load()
	res.Elapsed = time.Since(start)
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	err := errors.Join(errs...)
	final := snapshot("done", Want{}, err)
	if err != nil {
		final.State = "failed"
	}
	d.emit(final)
	return res, err
}

// Fetch downloads one APK into the cache (no-op when already cached),
// resuming a partial file and retrying with backoff. A download whose size or
// hash is wrong is thrown away and fetched again from the start.
func (d *Downloader) Fetch(ctx context.Context, w Want) error {
	if d.Cache.Verified(w.SHA256, w.Size) {
		return nil
	}
	return d.fetch(ctx, w, nil, nil)
}

func (d *Downloader) fetch(ctx context.Context, w Want, progress func(int64), restart func()) error {
	if !ValidSHA256(w.SHA256) {
		return newErr(CodeInvalid, "invalid SHA-256", "无效的 SHA-256", fmt.Errorf("%q", w.SHA256))
	}
	attempts := d.Attempts
	if attempts <= 0 {
		attempts = 8
	}
	backoff := d.Backoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	var err error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			delay := backoff << (i - 1)
			if delay > 30*time.Second || delay <= 0 {
				delay = 30 * time.Second
			}
			delay += rand.N(delay/2 + 1) // jitter: many stations must not retry in step
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		err = d.fetchOnce(ctx, w, progress, restart)
		if err == nil || ctx.Err() != nil {
			return err
		}
		var pe *permanentError
		if errors.As(err, &pe) {
			return pe.err
		}
	}
	return err
}

// permanentError stops retries (404, 401: trying again will not help).
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }

func (d *Downloader) fetchOnce(ctx context.Context, w Want, progress func(int64), restart func()) error {
	if d.Source == nil {
		return &permanentError{newErr(CodeDownload, "no catalog server to download from", "没有可下载的目录服务器", nil)}
	}
	part := d.Cache.PartPath(w.SHA256)
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	offset := info.Size()
	if w.Size > 0 && offset > w.Size {
		offset = 0
	}
	h := sha256.New()
	if offset > 0 {
		// Hash what we already have so the final check covers the whole file.
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, offset)); err != nil {
			offset = 0
			h.Reset()
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := d.Source.DownloadRequest(ctx, w.SHA256)
	if err != nil {
		return newErr(CodeDownload, "cannot build the download request", "无法创建下载请求", err)
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		req.Header.Set("If-Range", `"`+w.SHA256+`"`)
	}
	client := d.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return newErr(CodeDownload, "the download failed", "下载失败", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != offset {
			return newErr(CodeDownload, "the server resumed at the wrong place", "服务器续传位置错误", fmt.Errorf("Content-Range %q, want start %d", resp.Header.Get("Content-Range"), offset))
		}
	case http.StatusOK:
		offset = 0
		h.Reset()
		if restart != nil {
			restart()
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// Our partial file does not fit what the server has: start over.
		f.Truncate(0)
		return newErr(CodeDownload, "the partial download was stale and was discarded", "部分下载已过期，已丢弃", nil)
	case http.StatusNotFound, http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest:
		return &permanentError{newErr(CodeDownload, "the catalog server refused the download", "目录服务器拒绝了下载", fmt.Errorf("HTTP %s", resp.Status))}
	default:
		return newErr(CodeDownload, "the download failed", "下载失败", fmt.Errorf("HTTP %s", resp.Status))
	}
	if err := f.Truncate(offset); err != nil {
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}

	stall := d.Stall
	if stall <= 0 {
		stall = 30 * time.Second
	}
	watchdog := time.AfterFunc(stall, cancel)
	defer watchdog.Stop()
	n, err := copyProgress(f, h, resp.Body, w.Size-offset, func(k int64) {
		watchdog.Reset(stall)
		if progress != nil {
			progress(k)
		}
	})
	size := offset + n
	if err != nil {
		// Keep what arrived: the next attempt resumes from here.
		f.Sync()
		return newErr(CodeDownload, "the download was interrupted", "下载中断", err)
	}
	if w.Size > 0 && size != w.Size {
		if size > w.Size {
			f.Truncate(0)
		}
		return newErr(CodeSizeMismatch, "the download has the wrong size", "下载的文件大小不符", fmt.Errorf("want %d bytes, got %d", w.Size, size))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != w.SHA256 {
		f.Close()
		committed = true
		os.Remove(part)
		if restart != nil {
			restart()
		}
		return newErr(CodeHashMismatch, "the downloaded APK's SHA-256 is wrong; it was discarded", "下载的 APK 的 SHA-256 不正确，已丢弃", fmt.Errorf("want %s, got %s", w.SHA256, got))
	}
	committed = true
	return d.Cache.commit(f, w.SHA256)
}

// copyProgress copies src into f and h; it reads at most limit+1 bytes when
// limit > 0 so a server sending too much cannot fill the disk.
func copyProgress(f *os.File, h hash.Hash, src io.Reader, limit int64, progress func(int64)) (int64, error) {
	if limit > 0 {
		src = io.LimitReader(src, limit+1)
	}
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			if _, werr := f.Write(buf[:k]); werr != nil {
				return n, werr
			}
			h.Write(buf[:k])
			n += int64(k)
			progress(int64(k))
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(v string) (int64, bool) {
	v, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(v, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// throttle lets an event through at most once per every.
type throttle struct {
	mu    sync.Mutex
	every time.Duration
	last  time.Time
}

func (t *throttle) ok() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if now.Sub(t.last) < t.every {
		return false
	}
	t.last = now
	return true
}
