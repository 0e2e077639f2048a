package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"
)

// forwardCommand is the first argument that makes this program the
// forwarder: the thinnest thing that can stand where the gateway stands. It
// passes bytes through, renaming the exposed tool to the upstream's, with no
// MCP library, no JSON decoding and no policy step. Measured beside the
// gateway, it shows what the extra process hop alone costs on the machine.
const forwardCommand = "forward"

// The tool names the forwarder rewrites, quoted as they appear in JSON.
var (
	exposedTool  = []byte(`"` + benchUpstream + "__echo" + `"`)
	upstreamTool = []byte(`"echo"`)
)

// runForward is `gatehouse-bench forward -command PATH` (stdio: run PATH as
// the upstream and serve this process's stdin and stdout) or
// `gatehouse-bench forward -url URL -listen ADDR` (HTTP).
func runForward(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("gatehouse-bench forward", flag.ContinueOnError)
	command := fs.String("command", "", "stdio upstream to run")
	upstreamURL := fs.String("url", "", "streamable HTTP upstream")
	listen := fs.String("listen", "", "address to serve HTTP on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *command != "":
		return forwardStdio(*command, stdin, stdout)
	case *upstreamURL != "" && *listen != "":
		return forwardHTTP(*upstreamURL, *listen, stdin)
	}
	return errors.New("want -command, or -url and -listen")
}

// forwardStdio runs command and relays lines both ways, renaming the tool
// in the client's lines.
func forwardStdio(command string, stdin io.Reader, stdout io.Writer) error {
	cmd := exec.Command(command)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		defer in.Close()
		r := bufio.NewReader(stdin)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				if _, werr := in.Write(bytes.Replace(line, exposedTool, upstreamTool, 1)); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	_, err = io.Copy(stdout, out)
	return errors.Join(err, cmd.Wait())
}

// forwardHTTP serves a reverse proxy to upstreamURL on listen until stdin
// ends, renaming the tool in request bodies and in the Mcp-Name header.
func forwardHTTP(upstreamURL, listen string, stdin io.Reader) error {
	target, err := url.Parse(upstreamURL)
	if err != nil {
		return err
	}
	pool := http.DefaultTransport.(*http.Transport).Clone()
	pool.MaxIdleConns, pool.MaxIdleConnsPerHost = 256, 256
	proxy := &httputil.ReverseProxy{
		Transport: pool,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.URL.Path = target.Scheme, target.Host, target.Path
			r.Out.Host = target.Host
			if strings.Trim(string(exposedTool), `"`) == r.Out.Header.Get("Mcp-Name") {
				r.Out.Header.Set("Mcp-Name", strings.Trim(string(upstreamTool), `"`))
			}
		},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = bytes.Replace(body, exposedTool, upstreamTool, 1)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		proxy.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	return serveUntilEOF(srv, ln, stdin, nil, func(ctx context.Context) error {
		if err := srv.Shutdown(ctx); err != nil {
			return fmt.Errorf("shut down: %w", err)
		}
		return nil
	})
}
