//go:build gatehouse_bench_nolog

package main

import (
	"log/slog"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// recorder keeps no verdict records. This file is built only with the tag
// gatehouse_bench_nolog, which no release uses: BENCHMARKS.md builds such a
// binary to measure the gateway with the verdict log against the gateway
// without it (`gatehouse-bench -compare`). The gateway says so at every
// start.
func recorder(_ *audit.Log, log *slog.Logger) policy.Recorder {
	log.Error("THIS GATEHOUSE KEEPS NO VERDICT RECORDS: it was built with the tag gatehouse_bench_nolog, for benchmarks only")
	return nil
}
