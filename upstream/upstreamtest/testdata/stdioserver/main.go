// Command stdioserver serves an upstreamtest.Server over stdin and stdout,
// for tests that run an upstream as a child process. It logs only to
// stderr: stdout belongs to the protocol. Its crash tool exits with status 3.
//
// Usage:
//
//	stdioserver [-name NAME] [-prefix PREFIX] [-pages N] [-grandchild FILE]
//	stdioserver -hold FILE
//
// With -grandchild it first starts a copy of itself with -hold FILE, and
// does not wait for it: a grandchild of whoever started the server, as the
// node process npx starts is. The grandchild's stdin, stdout and stderr
// are the null device. With -hold it serves nothing: it listens on a free
// loopback TCP port, writes the address to FILE (whole, by renaming a
// temporary file), and accepts and closes connections until it is killed,
// so that a test can tell whether it still lives by dialling the address.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"

	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/mark3labs/mcp-go/server"
)

// workers is how many tool calls the child serves at once.
const workers = 32

func main() {
	opts := upstreamtest.Options{ExitOnCrash: true}
	flag.StringVar(&opts.Name, "name", "", "server name (default "+upstreamtest.DefaultName+")")
	flag.StringVar(&opts.ToolPrefix, "prefix", "", "prefix of every tool and prompt name")
	flag.IntVar(&opts.Pages, "pages", 0, "page size of list results (0: no pagination)")
	grandchild := flag.String("grandchild", "", "start a grandchild that holds a port and writes its address to this file")
	hold := flag.String("hold", "", "do not serve: hold a port and write its address to this file")
	flag.Parse()

	errLog := log.New(os.Stderr, "stdioserver: ", log.LstdFlags)
	if *hold != "" {
		if err := holdPort(*hold); err != nil {
			errLog.Fatal(err)
		}
		return
	}
	if *grandchild != "" {
		if err := startGrandchild(*grandchild); err != nil {
			errLog.Fatal(err)
		}
	}
	srv := upstreamtest.NewServer(opts)
	err := server.ServeStdio(srv.MCP,
		server.WithErrorLogger(errLog),
		server.WithWorkerPoolSize(workers),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "stdioserver: %v\n", err)
		os.Exit(1)
	}
}

// startGrandchild starts this program with -hold file and leaves it
// running.
func startGrandchild(file string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("grandchild: %w", err)
	}
	cmd := exec.Command(self, "-hold", file)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("grandchild: %w", err)
	}
	return cmd.Process.Release()
}

// holdPort listens on a loopback port, publishes its address in file, and
// accepts connections until the process is killed.
func holdPort(file string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("hold: %w", err)
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o600); err != nil {
		return fmt.Errorf("hold: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("hold: %w", err)
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("hold: %w", err)
		}
		conn.Close()
	}
}
