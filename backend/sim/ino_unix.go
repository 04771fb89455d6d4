//go:build unix

package sim

import (
	"os"
	"syscall"
)

// fileIno is the inode adb's STAT2 reply carries; the host only displays it.
func fileIno(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
