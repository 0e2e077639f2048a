// Command stdioserver serves an upstreamtest.Server over stdin and stdout,
// for tests that run an upstream as a child process. It logs only to
// stderr: stdout belongs to the protocol. Its crash tool exits with status 3.
//
// Usage:
//
//	stdioserver [-name NAME] [-prefix PREFIX] [-pages N]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

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
	flag.Parse()

	errLog := log.New(os.Stderr, "stdioserver: ", log.LstdFlags)
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
