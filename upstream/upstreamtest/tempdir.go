package upstreamtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TempDir is t.TempDir for tests that also run as Windows test binaries
// under Wine: it makes a new directory that is removed when the test ends,
// file by file with os.Remove. os.RemoveAll, which t.TempDir's cleanup
// uses, deletes files on Windows through FILE_DISPOSITION_INFORMATION_EX,
// which Wine 8 (Debian 12) does not implement: there it fails with
// "Invalid function" and fails the test. os.Remove uses DeleteFile, which
// Wine has. A file that cannot be removed still fails the test.
func TempDir(t testing.TB) string {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == '*' || r == '?' || r == '"' || r == '<' || r == '>' || r == '|' {
			return '_'
		}
		return r
	}, t.Name())
	dir, err := os.MkdirTemp("", name)
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() {
		if err := removeTree(dir); err != nil {
			t.Errorf("TempDir cleanup: %v", err)
		}
	})
	return dir
}

// removeTree removes dir and everything in it, deepest first.
func removeTree(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, path)
		return nil
	})
	if err != nil {
		return err
	}
	for _, path := range slices.Backward(paths) {
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	return nil
}
