//go:build !cgo

package audit

import "fmt"

// describe names the verdict log in err. A build without cgo has no SQLite
// (go-sqlite3 is C): every open fails with go-sqlite3's own error saying
// so, and there is no SQLite error code to explain. Release builds use cgo;
// this file lets the packages above be vetted for a platform whose C
// toolchain is not at hand (GOOS=darwin CGO_ENABLED=0 go vet).
func describe(file string, err error) error {
	return fmt.Errorf("verdict log %s: %w", file, err)
}
