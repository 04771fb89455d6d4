//go:build !unix

package sim

import "os"

// fileIno: no inode numbers here (Windows builds of the station still carry the sim).
func fileIno(os.FileInfo) uint64 { return 0 }
