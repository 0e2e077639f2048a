//go:build unix

package audit

import (
	"os"
	"testing"
)

// RemoveHeld removes the file at name, which the log holds open, as a
// user or another program would, and says whether it is gone. On Unix it
// is: unlink removes the name and the open file lives on without it.
func RemoveHeld(t testing.TB, name string) bool {
	t.Helper()
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	return true
}
