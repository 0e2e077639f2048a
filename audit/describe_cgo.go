//go:build cgo

package audit

import (
	"errors"
	"fmt"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// describe adds to err what a person can do about it, for the errors a
// verdict log commonly meets.
func describe(file string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrNotADB:
			return fmt.Errorf("%s is not a Gatehouse verdict log (not a SQLite database): %w", file, err)
		case sqlite3.ErrFull:
			return fmt.Errorf("verdict log %s: the disk is full: %w", file, err)
		case sqlite3.ErrPerm, sqlite3.ErrReadonly, sqlite3.ErrCantOpen:
			return fmt.Errorf("verdict log %s cannot be written (check that the file and its directory exist and are writable): %w", file, err)
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return fmt.Errorf("verdict log %s stayed locked by another process for more than %s: %w", file, busyTimeout, err)
		}
	}
	return fmt.Errorf("verdict log %s: %w", file, err)
}
