//go:build !gatehouse_bench_nolog

package main

import (
	"log/slog"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// recorder is what keeps the verdict records: the verdict log. (A binary
// built with the tag gatehouse_bench_nolog, for measuring what the log
// costs, keeps none: see recorder_nolog.go.)
func recorder(verdicts *audit.Log, _ *slog.Logger) policy.Recorder { return verdicts }
