// Package stdiofast is the stdio fast path for tools/call. mcp-go's
// StdioServer decodes every line it reads five to six times before a
// tools/call reaches the handler (three tries as a response to a request of
// its own, then HandleMessage's passes for the method, the protocol
// generation, _meta and the request), which was half of the gateway's CPU
// per call (BENCHMARKS.md). The lines that are plain tools/call requests —
// the common case — are read once here and handed to the handler mcp-go
// would call (the server's own tool entry), with the context mcp-go would
// give it; the answer gets what mcp-go does for the client's protocol
// generation (decoration for 2026-07-28, the input bridge for 2025-11-25)
// and is written. Every other line, and any call with something unusual
// about it, goes to mcp-go unchanged, through a pipe.
//
// What mcp-go does for a tools/call that this package does not repeat —
// hooks other than OnError, middleware, schema validation, tool filters,
// session tools, tasks — must not be in use: Listen serves through mcp-go
// alone when the server uses any of them (Mirrors), and guard_test.go fails when
// mcp-go's server gains behaviour this package does not mirror.
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

// DefaultMaxCalls bounds the calls one stdio client runs on the fast path
// at once when Options sets no bound; beyond it calls go to mcp-go, whose
// worker pool and queue bound them further.
const DefaultMaxCalls = 1024

// Options configure the fast path of one stdio client.
type Options struct {
	// ServerInfo is the server's identity, which mcp-go adds to every
	// result for a 2026-07-28 client (it has no accessor for it).
	ServerInfo mcp.Implementation
	// Go runs a call's handler; nil runs it on a new goroutine.
	Go func(func())
	// MaxCalls bounds the calls running at once; zero means
	// DefaultMaxCalls.
	MaxCalls int
	// Taken, if not nil, is called each time the fast path takes a call.
	Taken func()
	// Logger receives what cannot be delivered; nil discards.
	Logger *slog.Logger
}

// Listen serves one stdio client on stdio, mcp-go's server for srv, with
// the fast path taking the plain tools/call requests it reads from in, until
// in ends or ctx is cancelled. It returns what stdio.Listen returns.
func Listen(ctx context.Context, srv *server.MCPServer, stdio *server.StdioServer, in io.Reader, out io.Writer, opts Options) error {
	if !Mirrors(srv) {
		return stdio.Listen(ctx, in, out)
	}
	fast := newFastCalls(srv, out, opts)
	stdio.SetContextFunc(fast.started)
	lines, toMCP := io.Pipe()
	go fast.pump(in, toMCP)
	err := stdio.Listen(ctx, lines, fast.out)
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

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// fastCalls serves the fast path of one stdio client.
type fastCalls struct {
	srv  *server.MCPServer
	opts Options
	out  *lockedWriter

	ready chan struct{}      // closed when base is set
	base  context.Context    // mcp-go's context for the stdio session
	stop  context.CancelFunc // cancels the calls: the client is gone
	slots chan struct{}      // one per running call

	mu       sync.Mutex
	inflight map[string]context.CancelFunc // by the request's raw id
	closed   bool                          // finish has begun: no more calls
	wg       sync.WaitGroup
}

func newFastCalls(srv *server.MCPServer, out io.Writer, opts Options) *fastCalls {
	if opts.MaxCalls <= 0 {
		opts.MaxCalls = DefaultMaxCalls
	}
	if opts.Go == nil {
		opts.Go = func(f func()) { go f() }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &fastCalls{srv: srv, opts: opts, out: &lockedWriter{w: out}, ready: make(chan struct{}), slots: make(chan struct{}, opts.MaxCalls), inflight: map[string]context.CancelFunc{}}
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
// to mcp, which it closes at the end of the input.
func (f *fastCalls) pump(in io.Reader, mcp *io.PipeWriter) {
	defer mcp.Close()
	r := bufio.NewReaderSize(in, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line is never a call the fast path takes: pass it on
			// as it comes.
			for errors.Is(err, bufio.ErrBufferFull) {
				if _, werr := mcp.Write(line); werr != nil {
					return
				}
				line, err = r.ReadSlice('\n')
			}
		} else if len(line) > 0 && f.serve(line) {
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

// serve takes line if it is a call the fast path runs, and reports whether
// it did. It also cancels a fast call that the client cancels, and then
// still passes the notification on: it may be about a call of mcp-go's.
func (f *fastCalls) serve(line []byte) bool {
	isCall := bytes.Contains(line, toolsCallMethod)
	if !isCall && !bytes.Contains(line, cancelledMethod) {
		return false
	}
	select {
	case <-f.ready:
	default:
		return false // mcp-go has not started: it takes everything
	}
	var m fastLine
	if json.Unmarshal(line, &m) != nil || m.JSONRPC != mcp.JSONRPC_VERSION || len(m.Result) > 0 || len(m.Error) > 0 {
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
	req, info, ok := f.fastCall(&m)
	if !ok {
		return false
	}
	select {
	case f.slots <- struct{}{}:
	default:
		return false // enough running: mcp-go queues the rest
	}
	id := string(m.ID)
	f.mu.Lock()
	if _, dup := f.inflight[id]; dup || f.closed {
		// Two calls of one id: let mcp-go answer the second as it would.
		// Or the client is gone: so is mcp-go.
		f.mu.Unlock()
		<-f.slots
		return false
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
			<-f.slots
		}()
		f.respond(ctx, m.ID, req, info.Modern)
	})
	return true
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
