package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// layersCommand is the first argument that makes this program read a CPU
// profile of BenchmarkCallTool instead of running the benchmark.
const layersCommand = "layers"

// Layers, the code a CPU sample is charged to: the innermost frame of its
// stack that belongs to one of them. Packages of no layer (the runtime,
// encoding/json, reflect, sync, crypto, mcp-go's mcp types...) are charged
// to the layer that called them; a stack with no layer at all is the
// runtime's own work (GC workers, the scheduler, netpoll).
const (
	layerGatehouse = "gatehouse (gateway, workspace, upstream)"
	layerServer    = "mcp-go server"
	layerClient    = "mcp-go client"
	layerHTTP      = "net/http (server and client)"
	layerSlog      = "log/slog"
	layerRuntime   = "runtime only (GC, scheduler)"
)

// What a sample was doing, judged between its leaf and its layer's frame.
const (
	kindSyscall = "syscalls"
	kindJSON    = "encoding/json"
	kindAlloc   = "malloc/GC assist"
	kindOther   = "other"
)

var (
	layerOrder = []string{layerGatehouse, layerServer, layerClient, layerHTTP, layerSlog, layerRuntime}
	kindOrder  = []string{kindJSON, kindAlloc, kindSyscall, kindOther}
)

// layerOf returns the layer a function belongs to, or "".
func layerOf(fn string) string {
	pkg := packageOf(fn)
	switch {
	case strings.HasPrefix(pkg, "github.com/gatehouse-mcp/gatehouse/"):
		return layerGatehouse
	case strings.HasPrefix(pkg, "github.com/mark3labs/mcp-go/server"):
		return layerServer
	case strings.HasPrefix(pkg, "github.com/mark3labs/mcp-go/client"):
		return layerClient
	case pkg == "net/http", pkg == "net", pkg == "net/textproto", pkg == "net/url", pkg == "mime",
		strings.HasPrefix(pkg, "vendor/golang.org/x/net/http"):
		return layerHTTP
	case pkg == "log/slog":
		return layerSlog
	}
	return ""
}

// kindOf returns what a frame below the layer's frame says about the
// sample, or "".
func kindOf(fn string) string {
	pkg := packageOf(fn)
	switch {
	case pkg == "encoding/json":
		return kindJSON
	case pkg == "syscall", pkg == "internal/runtime/syscall/linux", pkg == "internal/poll":
		return kindSyscall
	case fn == "runtime.mallocgc", fn == "runtime.gcAssistAlloc", fn == "runtime.growslice":
		return kindAlloc
	}
	return ""
}

// packageOf returns the import path of a function name as pprof prints it.
func packageOf(fn string) string {
	slash := strings.LastIndex(fn, "/")
	dot := strings.Index(fn[slash+1:], ".")
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}

// sample is one stack of `go tool pprof -traces`.
type sample struct {
	side   string
	value  time.Duration
	frames []string // leaf first
}

// charge returns the layer and the kind of work of s.
func (s sample) charge() (layer, kind string) {
	layer = layerRuntime
	for _, f := range s.frames {
		if l := layerOf(f); l != "" {
			layer = l
			break
		}
		if kind == "" {
			kind = kindOf(f)
		}
	}
	if kind == "" {
		kind = kindOther
	}
	return layer, kind
}

// runLayers is `gatehouse-bench layers [-calls N] TESTBINARY PROFILE`: it
// charges the samples of each side of a BenchmarkCallTool profile to
// layers, and prints CPU time per call when -calls gives the number of
// calls the profile covers.
func runLayers(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse-bench layers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	calls := fs.Int("calls", 0, "tool calls the profile covers, for CPU time per call")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gatehouse-bench layers [-calls N] TESTBINARY PROFILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return flag.ErrHelp
	}
	var out bytes.Buffer
	cmd := exec.Command("go", "tool", "pprof", "-traces", fs.Arg(0), fs.Arg(1))
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go tool pprof -traces: %w", err)
	}
	samples, err := parseTraces(&out)
	if err != nil {
		return err
	}
	printLayers(stdout, samples, *calls)
	return nil
}

// parseTraces reads the output of `go tool pprof -traces`.
func parseTraces(r io.Reader) ([]sample, error) {
	var (
		out []sample
		cur *sample
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimSuffix(line, " (inline)")
		switch {
		case strings.HasPrefix(line, "-----------+"):
			if cur != nil && len(cur.frames) > 0 {
				out = append(out, *cur)
			}
			cur = &sample{}
		case cur == nil || line == "":
		case strings.HasPrefix(line, "side:"):
			cur.side = strings.TrimSpace(strings.TrimPrefix(line, "side:"))
		case len(cur.frames) == 0:
			value, fn, _ := strings.Cut(line, " ")
			d, err := time.ParseDuration(value)
			if err != nil {
				continue // a label other than side
			}
			cur.value = d
			cur.frames = append(cur.frames, strings.TrimSpace(fn))
		default:
			cur.frames = append(cur.frames, line)
		}
	}
	if cur != nil && len(cur.frames) > 0 {
		out = append(out, *cur)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no samples in the profile")
	}
	return out, sc.Err()
}

// printLayers prints, for each side, a table of layers × kinds of work.
func printLayers(w io.Writer, samples []sample, calls int) {
	type key struct{ layer, kind string }
	bySide := map[string]map[key]time.Duration{}
	totals := map[string]time.Duration{}
	var all time.Duration
	for _, s := range samples {
		side := s.side
		if side == "" {
			side = "(no label)"
		}
		if bySide[side] == nil {
			bySide[side] = map[key]time.Duration{}
		}
		l, k := s.charge()
		bySide[side][key{l, k}] += s.value
		totals[side] += s.value
		all += s.value
	}
	sides := make([]string, 0, len(bySide))
	for side := range bySide {
		sides = append(sides, side)
	}
	slices.SortFunc(sides, func(a, b string) int { return int(totals[b] - totals[a]) })

	cell := func(d, total time.Duration) string {
		if d == 0 {
			return "-"
		}
		s := fmt.Sprintf("%.1f%%", 100*float64(d)/float64(total))
		if calls > 0 {
			s += fmt.Sprintf(" %.1fµs", float64(d)/float64(time.Microsecond)/float64(calls))
		}
		return s
	}
	fmt.Fprintf(w, "CPU samples %s in all", all)
	if calls > 0 {
		fmt.Fprintf(w, ", %.1fµs per call over %d calls", float64(all)/float64(time.Microsecond)/float64(calls), calls)
	}
	fmt.Fprintln(w)
	for _, side := range sides {
		fmt.Fprintf(w, "\nside=%s: %s (%s of all samples)\n", side, totals[side], cell(totals[side], all))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "layer\ttotal\t%s\t\n", strings.Join(kindOrder, "\t"))
		for _, l := range layerOrder {
			var sum time.Duration
			cells := make([]string, 0, len(kindOrder))
			for _, k := range kindOrder {
				d := bySide[side][key{l, k}]
				sum += d
				cells = append(cells, cell(d, totals[side]))
			}
			if sum == 0 {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", l, cell(sum, totals[side]), strings.Join(cells, "\t"))
		}
		_ = tw.Flush()
	}
}
