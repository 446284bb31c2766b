//go:build !linux

package bbolt

import bolt "go.etcd.io/bbolt"

// dropMapped does nothing here: resident memory is measured on Linux, where the
// bot runs (see mapped_linux.go).
func dropMapped(*bolt.DB, *bolt.Tx) {}
