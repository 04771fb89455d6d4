package library

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

var shaRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidSHA256 reports whether s is a lower-case hex SHA-256.
func ValidSHA256(s string) bool { return shaRE.MatchString(s) }

// Cache is a content-addressed APK store: <dir>/sha256/ab/<hash>.apk.
// A file only ever appears under its final name after it was written to a
// temporary name, fsynced and verified, so a crash never leaves a wrong file
// under a hash's name.
type Cache struct {
	dir      string
	maxBytes int64 // 0 = no cap

	mu       sync.Mutex
	verified map[string]stamp     // hash -> size+mtime when the content was last verified
	lastUse  map[string]time.Time // hash -> last Open/Put, for LRU eviction
	now      func() time.Time
}

type stamp struct {
	size  int64
	mtime time.Time
}

// OpenCache opens (creating) the cache under dir with a size cap in bytes (0 = none).
func OpenCache(dir string, maxBytes int64, now func() time.Time) (*Cache, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o755); err != nil {
		return nil, newErr(CodeIO, "cannot create the APK cache", "无法创建 APK 缓存目录", err)
	}
	c := &Cache{dir: dir, maxBytes: maxBytes, verified: map[string]stamp{}, lastUse: map[string]time.Time{}, now: now}
	// Seed LRU order from mtimes so it survives restarts; leftover temp files
	// from a crash are removed (partial downloads, *.part, are kept to resume).
	_ = filepath.WalkDir(filepath.Join(dir, "sha256"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := d.Name()
		switch {
		case strings.HasPrefix(name, ".tmp-"):
			os.Remove(p)
		case strings.HasSuffix(name, ".apk"):
			if info, err := d.Info(); err == nil {
				c.lastUse[strings.TrimSuffix(name, ".apk")] = info.ModTime()
			}
		}
		return nil
	})
	return c, nil
}

// Dir is the cache's root directory.
func (c *Cache) Dir() string { return c.dir }

// MaxBytes is the size cap (0 = none).
func (c *Cache) MaxBytes() int64 { return c.maxBytes }

// Path is where the APK with this hash lives once cached.
func (c *Cache) Path(sha string) string {
	return filepath.Join(c.dir, "sha256", sha[:2], sha+".apk")
}

// PartPath is where an unfinished download of this hash is kept.
func (c *Cache) PartPath(sha string) string { return c.Path(sha) + ".part" }

// Has reports whether a file for the hash exists (not verified).
func (c *Cache) Has(sha string) bool {
	if !ValidSHA256(sha) {
		return false
	}
	_, err := os.Stat(c.Path(sha))
	return err == nil
}

// Open returns the cached APK after checking its content hashes to sha.
// The check is skipped when the file's size and mtime are unchanged since the
// last verification, so an install of a 100 MB APK to 50 phones hashes it once.
func (c *Cache) Open(sha string) (*os.File, error) {
	if !ValidSHA256(sha) {
		return nil, newErr(CodeInvalid, "invalid SHA-256", "无效的 SHA-256", fmt.Errorf("%q", sha))
	}
	f, err := os.Open(c.Path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, newErr(CodeNotCached, "the APK is not in the cache", "缓存中没有该 APK", err)
	}
	if err != nil {
		return nil, newErr(CodeIO, "cannot open the cached APK", "无法打开缓存的 APK", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, newErr(CodeIO, "cannot open the cached APK", "无法打开缓存的 APK", err)
	}
	st := stamp{info.Size(), info.ModTime()}
	c.mu.Lock()
	ok := c.verified[sha] == st
	c.mu.Unlock()
	if !ok {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			f.Close()
			return nil, newErr(CodeIO, "cannot read the cached APK", "无法读取缓存的 APK", err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sha {
			f.Close()
			// A corrupted file is useless: remove it so it is fetched again.
			c.remove(sha)
			return nil, newErr(CodeHashMismatch, "the cached APK is damaged and was removed", "缓存的 APK 已损坏，已删除", fmt.Errorf("want %s, got %s", sha, got))
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, newErr(CodeIO, "cannot read the cached APK", "无法读取缓存的 APK", err)
		}
	}
	c.mu.Lock()
	c.verified[sha] = st
	c.lastUse[sha] = c.now()
	c.mu.Unlock()
	return f, nil
}

// Verified reports whether sha is cached with size bytes and the right content.
func (c *Cache) Verified(sha string, size int64) bool {
	f, err := c.Open(sha)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	return err == nil && (size <= 0 || info.Size() == size)
}

// Put writes r into the cache under sha, verifying the hash (and size when
// size > 0). Nothing is left behind on failure.
func (c *Cache) Put(sha string, size int64, r io.Reader) error {
	if !ValidSHA256(sha) {
		return newErr(CodeInvalid, "invalid SHA-256", "无效的 SHA-256", fmt.Errorf("%q", sha))
	}
	dst := c.Path(sha)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err != nil {
		tmp.Close()
		return newErr(CodeIO, "cannot copy the APK into the cache", "无法将 APK 复制到缓存", err)
	}
	if size > 0 && n != size {
		tmp.Close()
		return newErr(CodeSizeMismatch, "the APK has the wrong size", "APK 大小不符", fmt.Errorf("want %d bytes, got %d", size, n))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		tmp.Close()
		return newErr(CodeHashMismatch, "the APK's SHA-256 does not match", "APK 的 SHA-256 不匹配", fmt.Errorf("want %s, got %s", sha, got))
	}
	return c.commit(tmp, sha)
}

// TempFile creates a file in the cache's directory for sha, so CommitVerified
// can rename it into place without copying (same file system).
func (c *Cache) TempFile() (*os.File, error) {
	dir := filepath.Join(c.dir, "sha256")
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return nil, newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	return f, nil
}

// CommitVerified moves a file from TempFile into place under sha. The caller
// has hashed every byte it wrote (the catalog hashes uploads while streaming).
func (c *Cache) CommitVerified(f *os.File, sha string) error {
	if !ValidSHA256(sha) {
		f.Close()
		os.Remove(f.Name())
		return newErr(CodeInvalid, "invalid SHA-256", "无效的 SHA-256", fmt.Errorf("%q", sha))
	}
	if err := os.MkdirAll(filepath.Dir(c.Path(sha)), 0o755); err != nil {
		f.Close()
		os.Remove(f.Name())
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	if err := c.commit(f, sha); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// commit fsyncs f, renames it to sha's final name and records it as verified.
func (c *Cache) commit(f *os.File, sha string) error {
	if err := f.Sync(); err != nil {
		f.Close()
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	if err := f.Close(); err != nil {
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	dst := c.Path(sha)
	if err := os.Rename(f.Name(), dst); err != nil {
		return newErr(CodeIO, "cannot write to the APK cache", "无法写入 APK 缓存", err)
	}
	syncDir(filepath.Dir(dst))
	if info, err := os.Stat(dst); err == nil {
		c.mu.Lock()
		c.verified[sha] = stamp{info.Size(), info.ModTime()}
		c.lastUse[sha] = c.now()
		c.mu.Unlock()
	}
	return nil
}

// syncDir makes a rename durable; best effort (not every OS can fsync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Remove deletes a cached APK and any partial download of it.
func (c *Cache) Remove(sha string) error {
	if !ValidSHA256(sha) {
		return newErr(CodeInvalid, "invalid SHA-256", "无效的 SHA-256", fmt.Errorf("%q", sha))
	}
	c.remove(sha)
	return nil
}

func (c *Cache) remove(sha string) {
	os.Remove(c.Path(sha))
	os.Remove(c.PartPath(sha))
	c.mu.Lock()
	delete(c.verified, sha)
	delete(c.lastUse, sha)
	c.mu.Unlock()
}

// Entry is one cached APK.
type Entry struct {
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	LastUse time.Time `json:"lastUse"`
}

// Entries lists the cached APKs, least recently used first.
func (c *Cache) Entries() []Entry {
	var out []Entry
	_ = filepath.WalkDir(filepath.Join(c.dir, "sha256"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ".apk") {
			return nil
		}
		sha := strings.TrimSuffix(d.Name(), ".apk")
		if !ValidSHA256(sha) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		c.mu.Lock()
		lu, ok := c.lastUse[sha]
		c.mu.Unlock()
		if !ok {
			lu = info.ModTime()
		}
		out = append(out, Entry{SHA256: sha, Size: info.Size(), LastUse: lu})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].LastUse.Before(out[j].LastUse) })
	return out
}

// Usage is the total size of cached APKs.
func (c *Cache) Usage() int64 {
	var n int64
	for _, e := range c.Entries() {
		n += e.Size
	}
	return n
}

// Evict removes least recently used APKs until the cache holds at most
// maxBytes-reserve bytes, never touching a hash for which keep returns true.
// It returns the evicted hashes; the cache may stay over the cap when
// everything left is kept (the list needs it: better over the cap than
// without the APK when a phone arrives).
func (c *Cache) Evict(reserve int64, keep func(sha string) bool) []string {
	if c.maxBytes <= 0 {
		return nil
	}
	entries := c.Entries()
	var total int64
	for _, e := range entries {
		total += e.Size
	}
	var evicted []string
	for _, e := range entries {
		if total+reserve <= c.maxBytes {
			break
		}
		if keep != nil && keep(e.SHA256) {
			continue
		}
		c.remove(e.SHA256)
		total -= e.Size
		evicted = append(evicted, e.SHA256)
	}
	return evicted
}
