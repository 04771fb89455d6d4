package sim

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const syncDataMax = 64 << 10 // SYNC_DATA_MAX

// syncService is the file-transfer protocol behind adb push/pull/ls. Requests
// are [id][len u32][path]; frames cross WRTE boundaries, so we read through a
// buffer, never per WRTE.
func (ph *Phone) syncService(ctx context.Context, s *stream) {
	r := bufio.NewReaderSize(s, 256<<10)
	w := bufio.NewWriterSize(s, syncDataMax+8)
	defer w.Flush()
	for {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return
		}
		id := string(h[:4])
		n := binary.LittleEndian.Uint32(h[4:])
		if n > 4096 {
			syncFail(w, "path too long")
			return
		}
		arg := make([]byte, n)
		if _, err := io.ReadFull(r, arg); err != nil {
			return
		}
		p := string(arg)
		var err error
		switch id {
		case "STAT":
			err = ph.syncStat(w, p)
		case "STA2", "LST2":
			err = ph.syncStat2(w, p, id)
		case "LIST":
			err = ph.syncList(w, p)
		case "SEND":
			err = ph.syncSend(r, w, p)
		case "RECV":
			err = ph.syncRecv(w, p)
		case "QUIT":
			return
		default:
			syncFail(w, "unknown sync request "+strconv.Quote(id))
			return
		}
		if err != nil {
			ph.logf("sync %s %s: %v", id, p, err)
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

func put32(w io.Writer, vs ...uint32) {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	w.Write(b)
}

func syncFail(w *bufio.Writer, msg string) {
	w.WriteString("FAIL")
	put32(w, uint32(len(msg)))
	w.WriteString(msg)
	w.Flush()
}

func unixMode(fi os.FileInfo) uint32 {
	m := uint32(fi.Mode().Perm())
	switch {
	case fi.IsDir():
		m |= syscall.S_IFDIR
	case fi.Mode()&os.ModeSymlink != 0:
		m |= syscall.S_IFLNK
	default:
		m |= syscall.S_IFREG
	}
	return m
}

func (ph *Phone) syncStat(w *bufio.Writer, p string) error {
	w.WriteString("STAT")
	fi, err := os.Stat(ph.hostPath(p))
	if err != nil {
		put32(w, 0, 0, 0)
		return nil
	}
	put32(w, unixMode(fi), uint32(fi.Size()), uint32(fi.ModTime().Unix()))
	return nil
}

func errnoOf(err error) uint32 {
	var en syscall.Errno
	if errors.As(err, &en) {
		return uint32(en)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return uint32(syscall.ENOENT)
	}
	return uint32(syscall.EIO)
}

func (ph *Phone) syncStat2(w *bufio.Writer, p, id string) error {
	b := make([]byte, 72)
	copy(b, "STA2")
	if id == "LST2" {
		copy(b, "LST2")
	}
	fi, err := os.Stat(ph.hostPath(p))
	if err != nil {
		binary.LittleEndian.PutUint32(b[4:], errnoOf(err))
		w.Write(b)
		return nil
	}
	le := binary.LittleEndian
	le.PutUint64(b[8:], 0xfd00)               // dev
	le.PutUint64(b[16:], uint64(fileIno(fi))) // ino
	le.PutUint32(b[24:], unixMode(fi))
	le.PutUint32(b[28:], 1)    // nlink
	le.PutUint32(b[32:], 2000) // uid shell
	le.PutUint32(b[36:], 2000) // gid shell
	le.PutUint64(b[40:], uint64(fi.Size()))
	t := fi.ModTime().Unix()
	le.PutUint64(b[48:], uint64(t))
	le.PutUint64(b[56:], uint64(t))
	le.PutUint64(b[64:], uint64(t))
	w.Write(b)
	return nil
}

func (ph *Phone) syncList(w *bufio.Writer, p string) error {
	hp := ph.hostPath(p)
	ents, _ := os.ReadDir(hp)
	names := []string{".", ".."}
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names[2:])
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(hp, name))
		if err != nil {
			continue
		}
		w.WriteString("DENT")
		put32(w, unixMode(fi), uint32(fi.Size()), uint32(fi.ModTime().Unix()), uint32(len(name)))
		w.WriteString(name)
	}
	w.WriteString("DONE")
	put32(w, 0, 0, 0, 0)
	return nil
}

// syncSend receives "path,mode" then DATA… DONE(mtime), writing to the phone.
func (ph *Phone) syncSend(r *bufio.Reader, w *bufio.Writer, arg string) error {
	p, modeStr, _ := strings.Cut(arg, ",")
	mode := os.FileMode(0o644)
	if m, err := strconv.ParseUint(modeStr, 10, 32); err == nil {
		mode = os.FileMode(m & 0o777)
	}
	// Read every frame first-to-last even when the write fails, as adbd does,
	// then report the failure after DONE.
	var failMsg string
	hp := ph.hostPath(p)
	if strings.HasPrefix(path.Clean("/"+p), "/system") {
		failMsg = "couldn't create file: Read-only file system"
	}
	var f *os.File
	var old int64
	if failMsg == "" {
		if fi, err := os.Stat(hp); err == nil {
			if fi.IsDir() {
				failMsg = "couldn't create file: Is a directory"
			} else {
				old = fi.Size()
			}
		}
	}
	if failMsg == "" {
		os.MkdirAll(filepath.Dir(hp), 0o755)
		var err error
		f, err = os.OpenFile(hp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
		if err != nil {
			failMsg = "couldn't create file: " + err.Error()
		}
	}
	var size int64
	buf := make([]byte, syncDataMax)
	for {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if f != nil {
				f.Close()
				os.Remove(hp)
			}
			return err
		}
		id := string(h[:4])
		n := binary.LittleEndian.Uint32(h[4:])
		switch id {
		case "DATA":
			if n > syncDataMax {
				syncFail(w, "data chunk too large")
				return fmt.Errorf("DATA of %d bytes", n)
			}
			if _, err := io.ReadFull(r, buf[:n]); err != nil {
				if f != nil {
					f.Close()
					os.Remove(hp)
				}
				return err
			}
			size += int64(n)
			if failMsg == "" && ph.freeBytes() < size-old {
				failMsg = "write failed: No space left on device"
			}
			if f != nil && failMsg == "" {
				if _, err := f.Write(buf[:n]); err != nil {
					failMsg = "write failed: " + err.Error()
				}
			}
		case "DONE":
			if f != nil {
				f.Close()
				os.Chmod(hp, mode)
				if n > 0 {
					t := time.Unix(int64(n), 0)
					os.Chtimes(hp, t, t)
				}
			}
			if failMsg != "" {
				if f != nil {
					os.Remove(hp)
				}
				syncFail(w, failMsg)
				return nil
			}
			ph.addUsed(size - old)
			w.WriteString("OKAY")
			put32(w, 0)
			return nil
		default:
			syncFail(w, "invalid data message "+strconv.Quote(id))
			return fmt.Errorf("unexpected %q in SEND", id)
		}
	}
}

func (ph *Phone) syncRecv(w *bufio.Writer, p string) error {
	f, err := os.Open(ph.hostPath(p))
	if err == nil {
		if fi, _ := f.Stat(); fi != nil && fi.IsDir() {
			f.Close()
			err = syscall.EISDIR
		}
	}
	if err != nil {
		msg := "No such file or directory"
		if errors.Is(err, syscall.EISDIR) {
			msg = "Is a directory"
		}
		syncFail(w, msg)
		return nil
	}
	defer f.Close()
	buf := make([]byte, syncDataMax)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			w.WriteString("DATA")
			put32(w, uint32(n))
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	w.WriteString("DONE")
	put32(w, 0)
	return nil
}
