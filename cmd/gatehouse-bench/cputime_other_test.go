//go:build !unix

package main_test

import "time"

// cpuTime is not measured off Unix: it reads 0, and so do the benchmarks'
// cpu-µs/op figures there (the benchmarks are run on Linux).
func cpuTime() time.Duration { return 0 }
