package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// binaries are the programs the paths run.
type binaries struct {
	gatehouse   string
	compare     string // the second gatehouse of -compare, if any
	stdioServer string
	self        string // this program: the HTTP upstream and the forwarder
}

// The packages built when no prebuilt binary is given.
const (
	gatehousePkg   = "github.com/gatehouse-mcp/gatehouse/cmd/gatehouse"
	stdioServerPkg = "github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest/testdata/stdioserver"
)

// prepareBinaries builds into dir what cfg does not name.
func prepareBinaries(ctx context.Context, cfg config, dir string, log io.Writer) (binaries, error) {
	bins := binaries{gatehouse: cfg.gatehouse, compare: cfg.compare, stdioServer: cfg.stdioServer}
	var err error
	if bins.compare != "" {
		if _, err := exec.LookPath(bins.compare); err != nil {
			return bins, fmt.Errorf("-compare: %w", err)
		}
	}
	if bins.self, err = os.Executable(); err != nil {
		return bins, err
	}
	if bins.gatehouse == "" {
		if bins.gatehouse, err = build(ctx, gatehousePkg, filepath.Join(dir, "gatehouse"), log); err != nil {
			return bins, err
		}
	}
	if bins.stdioServer == "" {
		if bins.stdioServer, err = build(ctx, stdioServerPkg, filepath.Join(dir, "stdioserver"), log); err != nil {
			return bins, err
		}
	}
	return bins, nil
}

// build runs `go build -o out pkg` in the current directory, which must lie
// inside the gatehouse module.
func build(ctx context.Context, pkg, out string, log io.Writer) (string, error) {
	fmt.Fprintf(log, "building %s ...\n", pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s (run gatehouse-bench from inside the gatehouse module, or pass -gatehouse and -stdioserver): %w\n%s", pkg, err, msg.Bytes())
	}
	return out, nil
}
