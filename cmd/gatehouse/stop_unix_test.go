//go:build unix

package main

import (
	"os"
	"testing"
)

// sendStop sends sig to p.
func sendStop(t *testing.T, p *os.Process, sig os.Signal) {
	t.Helper()
	if err := p.Signal(sig); err != nil {
		t.Fatal(err)
	}
}
