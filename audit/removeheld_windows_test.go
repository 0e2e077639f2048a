//go:build windows

package audit

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/windows"
)

// RemoveHeld removes the file at name, which the log holds open, as a
// user or another program would, and says whether it is gone. On Windows
// it is not: SQLite (winOpen) and Go (syscall.Open) open files without
// FILE_SHARE_DELETE, so removing a file that a handle holds open fails
// with a sharing violation, and the file stays as it was.
func RemoveHeld(t testing.TB, name string) bool {
	t.Helper()
	err := os.Remove(name)
	if err == nil {
		t.Fatalf("removing %s, which the log holds open, succeeded; want a sharing violation", name)
	}
	if !errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
		t.Fatalf("removing %s, which the log holds open: %v; want a sharing violation", name, err)
	}
	return false
}
