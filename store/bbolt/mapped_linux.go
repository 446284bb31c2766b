//go:build linux

package bbolt

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// dropMapped tells the kernel that the process no longer needs the pages of the
// file it has read, as of tx: they leave its resident memory and stay in the
// page cache, and a later read maps them in again. bbolt maps the file read-only
// and writes through the file, so nothing is lost; inside tx the map cannot move
// (bbolt remaps only once no transaction reads it).
func dropMapped(db *bolt.DB, tx *bolt.Tx) {
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, db.Info().Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
}
