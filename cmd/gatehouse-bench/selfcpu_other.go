//go:build !unix

package main

import "time"

// selfCPU is not measured off Unix: the figure is missing.
func selfCPU() (time.Duration, bool) { return 0, false }
