// Package testdir gives tests a temporary directory that is removed
// after them on every platform the test binaries run on, Wine included.
//
// t.TempDir removes its directory with os.RemoveAll, which on Windows
// deletes each file through FileDispositionInformationEx (POSIX
// semantics). Wine 8 (Debian 12) does not implement it: every file a test
// wrote fails the test at cleanup with "unlinkat …: Invalid function".
// os.Remove uses DeleteFile, which Wine has; New empties the directory
// with it before t.TempDir's own cleanup runs.
package testdir

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// New returns a new temporary directory for t, as t.TempDir does, and
// empties it with os.Remove when t ends.
func New(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() { removeAll(dir) })
	return dir
}

// removeAll removes dir and everything under it with os.Remove, deepest
// first; what it cannot remove is left to t.TempDir's cleanup, which
// reports it.
func removeAll(dir string) {
	var paths []string
	filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	for _, p := range slices.Backward(paths) {
		os.Remove(p)
	}
}
