// Package stdiofast serves the tools/call requests of one stdio client
// off mcp-go's read loop, and the plain ones on a fast path.
//
// Off the read loop: mcp-go's StdioServer runs tools/call requests on a
// fixed pool of workers behind a queue, and once both are full it runs
// the next call in its read loop, where a call held by the judge or by a
// person stops every line after it — answers to the gateway's own
// questions included. Here every tools/call request the client sends runs
// on a goroutine of its own, and mcp-go's read loop only ever sees the
// other lines (requests it serves on goroutines of its own, responses and
// notifications it handles at once). How many calls may run at once is
// for the handler to bound, by refusing the ones beyond.
//
// The fast path: mcp-go decodes every line it reads five to six times
// before a tools/call reaches the handler (three tries as a response to a
// request of its own, then HandleMessage's passes for the method, the
// protocol generation, _meta and the request), which was half of the
// gateway's CPU per call (BENCHMARKS.md). The lines that are plain
// tools/call requests — the common case — are read once here and handed
// to the handler mcp-go would call (the server's own tool entry), with the
// context mcp-go would give it; the answer gets what mcp-go does for the
// client's protocol generation (decoration for 2026-07-28, the input
// bridge for 2025-11-25) and is written. A tools/call with something
// unusual about it, and every call when Options.Plain is set, goes to
// mcp-go's own HandleMessage, as mcp-go's workers would hand it; every
// other line goes to mcp-go unchanged, through a pipe.
//
// What mcp-go does for a tools/call that the fast path does not repeat —
// hooks other than OnError, middleware, schema validation, tool filters,
// session tools, tasks — must not be in use: the fast path stands aside
// when the server uses any of them (Mirrors), and guard_test.go fails when
// mcp-go's server gains behaviour it does not mirror.
package stdiofast

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Options configure the fast path of one stdio client.
type Options struct {
	// ServerInfo is the server's identity, which mcp-go adds to every
	// result for a 2026-07-28 client (it has no accessor for it).
	ServerInfo mcp.Implementation
	// Go runs a call's handler; nil runs it on a new goroutine. It must
	// not wait for another call to end.
	Go func(func())
	// Plain hands every tools/call to mcp-go's HandleMessage: no call
	// takes the fast path, and none runs in mcp-go's read loop either.
	Plain bool
	// Taken, if not nil, is called each time the fast path takes a call.
	Taken func()
	// Logger receives what cannot be delivered; nil discards.
	Logger *slog.Logger
}

// Listen serves one stdio client on stdio, mcp-go's server for srv, every
// tools/call request it reads from in on a goroutine of its own (the plain
// ones on the fast path, unless opts.Plain or the server is not Mirrored),
// until in ends or ctx is cancelled. It returns what stdio.Listen returns.
func Listen(ctx context.Context, srv *server.MCPServer, stdio *server.StdioServer, in io.Reader, out io.Writer, opts Options) error {
	fast := newFastCalls(srv, out, opts)
	fast.decode = !opts.Plain && Mirrors(srv)
	stdio.SetContextFunc(fast.started)
	lines, toMCP := io.Pipe()
	go fast.pump(in, toMCP)
	err := stdio.Listen(ctx, lines, fast.out)
	close(fast.quit)
	lines.Close() // the pump stops at its next line
	fast.finish()
	return err
}

// Mirrors reports whether the fast path does for srv's tools/call requests
// all that mcp-go would: srv has no hook a tools/call triggers but OnError
// (which the fast path runs as mcp-go does), and none of the tools/call
// machinery the fast path skips — tool middleware, input or output schema
// validation, tool filters, trace propagation through _meta. (A tracer
// only observes.) A field it cannot find (a newer mcp-go) counts
// as in use: the fast path then stands aside.
func Mirrors(srv *server.MCPServer) bool {
	if h := srv.GetHooks(); h != nil && len(h.OnBeforeAny)+len(h.OnSuccess)+len(h.OnRequestInitialization)+
		len(h.OnBeforeCallTool)+len(h.OnAfterCallTool) > 0 {
		return false
	}
	v := reflect.ValueOf(srv).Elem()
	for _, name := range skipped {
		f := v.FieldByName(name)
		if !f.IsValid() {
			return false
		}
		switch f.Kind() {
		case reflect.Slice, reflect.Map:
			if f.Len() > 0 {
				return false
			}
		case reflect.Pointer, reflect.Interface, reflect.Func:
			if !f.IsNil() {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// skipped are the fields of mcp-go's MCPServer behind the tools/call
// machinery the fast path does not repeat; each must be empty.
var skipped = []string{"toolHandlerMiddlewares", "inputValidator", "outputValidator", "toolFilters", "taskTools", "metaPropagator"}

// lockedWriter serialises writes to w. The fast path and mcp-go write
// whole messages with one Write each.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// LockedWriter serialises the writes to w, for a caller that writes whole
// messages to the client besides the fast path and mcp-go (each with one
// Write). Listen given its result writes through it, not around it.
func LockedWriter(w io.Writer) io.Writer { return lock(w) }

func lock(w io.Writer) *lockedWriter {
	if l, ok := w.(*lockedWriter); ok {
		return l
	}
	return &lockedWriter{w: w}
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// fastCalls serves the tools/call requests of one stdio client.
type fastCalls struct {
	srv    *server.MCPServer
	opts   Options
	out    *lockedWriter
	decode bool // plain calls take the fast path

	ready chan struct{}      // closed when base is set
	quit  chan struct{}      // closed when mcp-go's Listen has returned
	base  context.Context    // mcp-go's context for the stdio session
	stop  context.CancelFunc // cancels the calls: the client is gone

	mu       sync.Mutex
	inflight map[string]context.CancelFunc // by the request's raw id
	closed   bool                          // finish has begun: no more calls
	wg       sync.WaitGroup
}

func newFastCalls(srv *server.MCPServer, out io.Writer, opts Options) *fastCalls {
	if opts.Go == nil {
		opts.Go = func(f func()) { go f() }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &fastCalls{srv: srv, opts: opts, out: lock(out), ready: make(chan struct{}), quit: make(chan struct{}), inflight: map[string]context.CancelFunc{}}
}

// started is mcp-go's StdioServer context function: its context carries the
// stdio session, which the fast path's calls need as mcp-go's calls have it.
func (f *fastCalls) started(ctx context.Context) context.Context {
	f.base, f.stop = context.WithCancel(ctx)
	close(f.ready)
	return ctx
}

// finish cancels the calls still running and waits for them: mcp-go does
// the same for its own when the client's input ends.
func (f *fastCalls) finish() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	select {
	case <-f.ready:
		f.stop()
	default:
	}
	f.wg.Wait()
}

// pump reads the client's lines, serves those it can and writes the others
// to mcp, which it closes at the end of the input. It reads nothing before
// mcp-go has started: the calls need its context.
func (f *fastCalls) pump(in io.Reader, mcp *io.PipeWriter) {
	defer mcp.Close()
	select {
	case <-f.ready:
	case <-f.quit:
		return
	}
	r := bufio.NewReaderSize(in, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line may be a call too (large arguments): read it
			// whole, as mcp-go would.
			long := bytes.Clone(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 && f.serve(line) {
			line = nil
		}
		if len(line) > 0 {
			if _, werr := mcp.Write(line); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

var (
	toolsCallMethod = []byte(`"tools/call"`)
	cancelledMethod = []byte(`"notifications/cancelled"`)
)

// fastLine is what the fast path reads of a line.
type fastLine struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
	Params  struct {
		Name           string          `json:"name"`
		Arguments      json.RawMessage `json:"arguments"`
		Meta           json.RawMessage `json:"_meta"`
		Task           json.RawMessage `json:"task"`
		RequestState   json.RawMessage `json:"requestState"`
		InputResponses json.RawMessage `json:"inputResponses"`
		RequestID      json.RawMessage `json:"requestId"` // of notifications/cancelled
	} `json:"params"`
}

// lineHead is what every line that might be a tools/call is read for when
// it is not a fastLine (a field of another type than the fast path reads):
// the method, and whether it is a response.
type lineHead struct {
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
}

// serve takes line if it is a tools/call request, and reports whether it
// did: on the fast path when it can, else through mcp-go's HandleMessage;
// either way on a goroutine of its own. It also cancels a fast call that
// the client cancels, and then still passes the notification on: it may be
// about a call of mcp-go's.
func (f *fastCalls) serve(line []byte) bool {
	// A method spelled with escapes (tools\/call) is still a method: a
	// line with a backslash is read whatever it says.
	if !bytes.Contains(line, toolsCallMethod) && !bytes.Contains(line, cancelledMethod) && bytes.IndexByte(line, '\\') < 0 {
		return false
	}
	var m fastLine
	if err := json.Unmarshal(line, &m); err != nil {
		var head lineHead
		if json.Unmarshal(line, &head) != nil || head.Method != string(mcp.MethodToolsCall) || present(head.Result) {
			return false // not JSON (mcp-go's parse error), or not a call
		}
		return f.handOff(line)
	}
	// A response is mcp-go's to route. mcp-go takes a line for one by its
	// result alone, and a null result for none: a line with a method, an
	// id and "result":null is a call to it, whatever error it carries.
	if present(m.Result) {
		return false
	}
	if len(m.Error) > 0 && m.Method != string(mcp.MethodToolsCall) {
		return false
	}
	if m.Method == string(mcp.MethodNotificationCancelled) {
		if len(m.ID) == 0 {
			f.mu.Lock()
			cancel := f.inflight[string(bytes.TrimSpace(m.Params.RequestID))]
			f.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		}
		return false
	}
	if m.Method != string(mcp.MethodToolsCall) {
		return false
	}
	if m.JSONRPC == mcp.JSONRPC_VERSION && f.decode && len(m.Error) == 0 {
		if req, info, ok := f.fastCall(&m); ok {
			if taken, ok := f.run(&m, req, info); ok {
				return taken
			}
		}
	}
	return f.handOff(line)
}

// present reports whether a member of a JSON object was there and not null.
func present(v json.RawMessage) bool {
	return len(v) > 0 && !bytes.Equal(v, []byte("null"))
}

// run starts the fast call m, whose request is req. It reports whether it
// took the line (false once the client is gone: so is mcp-go), and ok
// false when the call is not for the fast path after all: a second call of
// an id still running, which mcp-go answers as it would.
func (f *fastCalls) run(m *fastLine, req mcp.CallToolRequest, info *server.RequestProtocolInfo) (taken, ok bool) {
	id := string(m.ID)
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return false, true
	}
	if _, dup := f.inflight[id]; dup {
		f.mu.Unlock()
		return false, false
	}
	ctx, cancel := context.WithCancel(server.WithRequestProtocolInfo(f.base, info))
	f.inflight[id] = cancel
	f.wg.Add(1)
	f.mu.Unlock()
	if sess := server.ClientSessionFromContext(ctx); sess != nil && info.Modern {
		applyProtocolInfo(sess, info)
	}
	if f.opts.Taken != nil {
		f.opts.Taken()
	}
	f.opts.Go(func() {
		defer f.wg.Done()
		defer func() {
			f.mu.Lock()
			delete(f.inflight, id)
			f.mu.Unlock()
			cancel()
		}()
		f.respond(ctx, m.ID, req, info.Modern)
	})
	return true, true
}

// handOff runs the tools/call line as one of mcp-go's workers would —
// through HandleMessage, a panic answered as an internal error — but on a
// goroutine of its own, so that no call waits for another to end. It
// reports false once the client is gone.
func (f *fastCalls) handOff(line []byte) bool {
	msg := json.RawMessage(bytes.Clone(line)) // line is the reader's buffer
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return false
	}
	f.wg.Add(1)
	f.mu.Unlock()
	f.opts.Go(func() {
		defer f.wg.Done()
		resp := f.handle(msg)
		if resp == nil {
			return // a notification
		}
		b, err := json.Marshal(resp)
		if err != nil {
			// As respond does: the request is answered, with an error.
			var head struct {
				ID json.RawMessage `json:"id"`
			}
			if json.Unmarshal(msg, &head) != nil || !validID(head.ID) {
				f.opts.Logger.Debug("answer not encoded", "err", err)
				return
			}
			b, _ = json.Marshal(fastResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: head.ID, Error: errorDetails(mcp.INTERNAL_ERROR, err.Error())})
		}
		if _, err := f.out.Write(append(b, '\n')); err != nil {
			f.opts.Logger.Debug("answer not delivered", "err", err)
		}
	})
	return true
}

// handle is mcp-go's answer to msg, or an internal error carrying msg's
// id when its handler panics.
func (f *fastCalls) handle(msg json.RawMessage) (resp any) {
	defer func() {
		if r := recover(); r != nil {
			var head struct {
				ID json.RawMessage `json:"id"`
			}
			_ = json.Unmarshal(msg, &head)
			if !validID(head.ID) {
				resp = nil
				return
			}
			resp = fastResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: head.ID, Error: errorDetails(mcp.INTERNAL_ERROR, fmt.Sprintf("internal panic: %v", r))}
		}
	}()
	if out := f.srv.HandleMessage(f.base, msg); out != nil {
		return out
	}
	return nil
}

// fastCall is the request of line m if the fast path runs it: a tools/call
// with an id, of a tool in the catalog, without a task, and not the retry of
// a call that asked for input; from a 2026-07-28 client, whose request
// carries a supported protocol version and its capabilities, or from an
// earlier one. (Progress goes to the client through the session, as on
// mcp-go's path, whose answers do not wait for it either.)
// info is the protocol information mcp-go would give the request.
func (f *fastCalls) fastCall(m *fastLine) (mcp.CallToolRequest, *server.RequestProtocolInfo, bool) {
	var req mcp.CallToolRequest
	p := &m.Params
	if m.Method != string(mcp.MethodToolsCall) || !validID(m.ID) ||
		len(p.Task) > 0 || len(p.RequestState) > 0 || len(p.InputResponses) > 0 {
		return req, nil, false
	}
	var meta *mcp.Meta
	if len(p.Meta) > 0 {
		var ok bool
		if meta, ok = fastMeta(p.Meta); !ok {
			return req, nil, false
		}
	}
	version := meta.ProtocolVersion()
	info := &server.RequestProtocolInfo{ProtocolVersion: version}
	if mcp.IsModernProtocol(version) {
		caps := meta.ClientCapabilities()
		if !mcp.IsValidProtocolVersion(version) || caps == nil {
			return req, nil, false // mcp-go's errors
		}
		info = &server.RequestProtocolInfo{Modern: true, ProtocolVersion: version, ClientInfo: meta.ClientInfo(), ClientCapabilities: caps, LogLevel: meta.LogLevel()}
	}
	tool := f.srv.GetTool(p.Name)
	if tool == nil || tool.Tool.Execution != nil {
		return req, nil, false // mcp-go's error for an unknown tool, its rules for tasks
	}
	req.Method = string(mcp.MethodToolsCall)
	req.Params.Name = p.Name
	req.Params.Meta = meta
	if args := bytes.TrimSpace(p.Arguments); len(args) > 0 && string(args) != "null" {
		var decoded any
		if json.Unmarshal(args, &decoded) != nil {
			return req, nil, false
		}
		req.Params.Arguments = decoded
		req.Params.RawArguments = p.Arguments
	}
	return req, info, true
}

// fastMeta reads a request's _meta as mcp-go's Meta.UnmarshalJSON does,
// but the protocol's own keys straight into the types their accessors
// return (which then need not encode and decode them again). A protocol key
// of the wrong shape is not for the fast path: mcp-go answers those.
func fastMeta(raw json.RawMessage) (*mcp.Meta, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		return nil, false
	}
	meta := &mcp.Meta{AdditionalFields: make(map[string]any, len(fields))}
	for k, v := range fields {
		var value any
		var err error
		switch {
		case k == "progressToken":
			if err := json.Unmarshal(v, &meta.ProgressToken); err != nil {
				return nil, false
			}
			continue
		case string(bytes.TrimSpace(v)) == "null":
		case k == mcp.MetaKeyProtocolVersion:
			var version string
			err = json.Unmarshal(v, &version)
			value = version
		case k == mcp.MetaKeyClientInfo:
			info := new(mcp.Implementation)
			err = json.Unmarshal(v, info)
			value = info
		case k == mcp.MetaKeyClientCapabilities:
			caps := new(mcp.ClientCapabilities)
			err = json.Unmarshal(v, caps)
			value = caps
		default:
			err = json.Unmarshal(v, &value)
		}
		if err != nil {
			return nil, false
		}
		meta.AdditionalFields[k] = value
	}
	return meta, true
}

// validID is a JSON-RPC request id: a string or a number. (Not null:
// mcp-go takes a request with a null id for a notification and does not
// answer it, so the fast path must not run it either.)
func validID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	if len(id) == 0 || string(id) == "null" {
		return false
	}
	if id[0] == '"' {
		return true // json.Unmarshal has checked it is a string
	}
	var n json.Number
	return json.Unmarshal(id, &n) == nil
}

// applyProtocolInfo is what mcp-go does to the session for every request of
// a 2026-07-28 client: the request carries the client's identity and
// capabilities.
func applyProtocolInfo(sess server.ClientSession, info *server.RequestProtocolInfo) {
	if withInfo, ok := sess.(server.SessionWithClientInfo); ok {
		if info.ClientInfo != nil {
			withInfo.SetClientInfo(*info.ClientInfo)
		}
		if info.ClientCapabilities != nil {
			withInfo.SetClientCapabilities(*info.ClientCapabilities)
		}
	}
	if !sess.Initialized() {
		sess.Initialize()
	}
}

// fastResponse is a JSON-RPC response with the request's id as it came.
type fastResponse struct {
	JSONRPC string                   `json:"jsonrpc"`
	ID      json.RawMessage          `json:"id"`
	Result  *mcp.CallToolResult      `json:"result,omitempty"`
	Error   *mcp.JSONRPCErrorDetails `json:"error,omitempty"`
}

// respond runs the call and writes its answer as mcp-go would have.
func (f *fastCalls) respond(ctx context.Context, id json.RawMessage, req mcp.CallToolRequest, modern bool) {
	res, err := f.call(ctx, id, req)
	if err == nil && res != nil && !modern {
		res, err = f.resolveInput(ctx, id, req, res)
	}
	resp := fastResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: id}
	switch {
	case err != nil:
		resp.Error = errorDetails(mcp.INTERNAL_ERROR, err.Error())
	case res == nil:
		resp.Error = errorDetails(mcp.INTERNAL_ERROR, fmt.Sprintf("tool %q returned no result", req.Params.Name))
	case !modern:
		resp.Result = res
	default:
		// What mcp-go adds to every result for a 2026-07-28 client.
		if res.GetResultType() == "" {
			res.SetResultType(mcp.ResultTypeComplete)
		}
		if meta := res.EnsureResultMeta(); meta.ServerInfo() == nil {
			meta.SetServerInfo(f.opts.ServerInfo)
		}
		resp.Result = res
	}
	b, merr := json.Marshal(resp)
	if merr != nil {
		b, _ = json.Marshal(fastResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: errorDetails(mcp.INTERNAL_ERROR, merr.Error())})
	}
	if _, err := f.out.Write(append(b, '\n')); err != nil {
		f.opts.Logger.Debug("answer not delivered", "err", err)
	}
}

func errorDetails(code int, message string) *mcp.JSONRPCErrorDetails {
	d := mcp.NewJSONRPCErrorDetails(code, message, nil)
	return &d
}

// call runs the tool's handler as mcp-go would: the server's own entry for
// the tool (it may have left the catalog since the line was read), through
// mcp-go's recovery, with the OnError hooks on failure.
func (f *fastCalls) call(ctx context.Context, id json.RawMessage, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("panic recovered in %s tool handler: %v", req.Params.Name, r)
		}
	}()
	tool := f.srv.GetTool(req.Params.Name)
	if tool == nil {
		err = fmt.Errorf("tool '%s' not found: %w", req.Params.Name, server.ErrToolNotFound)
	} else {
		res, err = tool.Handler(ctx, req)
	}
	if err != nil {
		var rid any
		_ = json.Unmarshal(id, &rid)
		for _, hook := range f.srv.GetHooks().OnError {
			hook(ctx, rid, mcp.MethodToolsCall, &req, err)
		}
	}
	return res, err
}

// maxInputRoundTrips is mcp-go's bound on the input a handler may ask a
// 2025-11-25 client for in one call.
const maxInputRoundTrips = 10

// resolveInput is mcp-go's bridge for a client before 2026-07-28, whose
// protocol has no input_required results: while the handler's result asks
// for input, ask the client with the requests of its generation
// (elicitation/create, sampling/createMessage, roots/list) and call the
// handler again with the answers.
func (f *fastCalls) resolveInput(ctx context.Context, id json.RawMessage, req mcp.CallToolRequest, res *mcp.CallToolResult) (*mcp.CallToolResult, error) {
	for attempt := 0; res != nil && res.NeedsInput(); attempt++ {
		if len(res.InputRequests) == 0 {
			return nil, fmt.Errorf("multi round-trip: %w", server.ErrLoadShedding)
		}
		if attempt >= maxInputRoundTrips {
			return nil, fmt.Errorf("multi round-trip: handler asked for input more than %d times", maxInputRoundTrips)
		}
		answers, err := f.askClient(ctx, res.InputRequests)
		if err != nil {
			return nil, err
		}
		retry := req
		retry.Params.MultiRoundTripParams = mcp.MultiRoundTripParams{InputResponses: answers, RequestState: res.RequestState}
		if res, err = f.call(ctx, id, retry); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// askClient puts each input request to the client at once; the first
// failure cancels the others.
func (f *fastCalls) askClient(ctx context.Context, requests mcp.InputRequests) (mcp.InputResponses, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		answers  = make(mcp.InputResponses, len(requests))
		firstErr error
	)
	for id, request := range requests {
		wg.Go(func() {
			answer, err := f.askOne(ctx, request)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("fulfilling input request %q: %w", id, err)
					cancel()
				}
				return
			}
			answers[id] = answer
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("multi round-trip: %w", firstErr)
	}
	return answers, nil
}

// askOne puts one input request to the client.
func (f *fastCalls) askOne(ctx context.Context, request mcp.InputRequest) (mcp.InputResponse, error) {
	srv := f.srv
	switch request.Method {
	case mcp.MethodElicitationCreate:
		if request.Elicitation == nil {
			return mcp.InputResponse{}, errors.New("elicitation input request has no params")
		}
		res, err := srv.RequestElicitation(ctx, mcp.ElicitationRequest{Request: mcp.Request{Method: string(mcp.MethodElicitationCreate)}, Params: *request.Elicitation})
		if err != nil {
			return mcp.InputResponse{}, err
		}
		if res == nil {
			return mcp.InputResponse{}, errors.New("session returned no elicitation result")
		}
		return mcp.NewElicitationInputResponse(*res), nil
	case mcp.MethodSamplingCreateMessage:
		if request.Sampling == nil {
			return mcp.InputResponse{}, errors.New("sampling input request has no params")
		}
		res, err := srv.RequestSampling(ctx, mcp.CreateMessageRequest{Request: mcp.Request{Method: string(mcp.MethodSamplingCreateMessage)}, CreateMessageParams: *request.Sampling})
		if err != nil {
			return mcp.InputResponse{}, err
		}
		if res == nil {
			return mcp.InputResponse{}, errors.New("session returned no sampling result")
		}
		return mcp.NewSamplingInputResponse(*res), nil
	case mcp.MethodListRoots:
		res, err := srv.RequestRoots(ctx, mcp.ListRootsRequest{Request: mcp.Request{Method: string(mcp.MethodListRoots)}})
		if err != nil {
			return mcp.InputResponse{}, err
		}
		if res == nil {
			return mcp.InputResponse{}, errors.New("session returned no roots result")
		}
		return mcp.NewRootsInputResponse(*res), nil
	default:
		return mcp.InputResponse{}, fmt.Errorf("unsupported input request method %q", request.Method)
	}
}
