package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// An upstream may ask the client for an LLM completion (sampling) or for
// the person's input (elicitation) while it runs a call. Gatehouse relays
// such a request with the multi round-trip pattern of protocol 2026-07-28:
// the upstream call runs on in the background ("parked"), the client gets an
// input_required result carrying the upstream's request and a signed
// requestState, and its retry of the call delivers the answer to the
// waiting upstream. mcp-go performs the classic server-initiated
// elicitation/create or sampling/createMessage for 2025-11-25 clients and
// re-invokes the handler, so one path serves both protocol generations.

// Bounds of a parked call: how long the client has to answer one input
// request, and how many rounds one call may take.
const (
	inputTimeout   = 10 * time.Minute
	maxInputRounds = 32
	inputRequestID = "upstream"
)

// Errors of the relay, as the client reads them.
var (
	errStaleState = errors.New("this answer does not belong to a call waiting for input: it expired, was already answered, or was never issued")
	errNoInput    = errors.New("the retry carries no answer to the upstream's request")
)

// notifyTimeout bounds the upstream requests the gateway makes on its own
// (unsubscribing for a client that went away).
const notifyTimeout = 5 * time.Second

// parked is one upstream call that is, or may come to be, waiting for the
// client's input.
type parked struct {
	id      string        // set when the call first parks
	binding string        // what a retry must match: session, tool, arguments
	bind    func() string // computes binding, when the call first parks

	upstream, tool string  // for messages and logs
	verdict        Verdict // what enforcement said: _meta for the result, Done

	events  chan parkEvent         // from the call: an input request, or its end
	answers chan mcp.InputResponse // to the relay waiting in the call
	cancel  context.CancelFunc     // ends the upstream call (a held call: ends it as expired)
	rounds  int

	// hold, for a call held for the person's approval rather than
	// running, forwards it once approved, with the retry's request.
	hold func(ctx context.Context, retry mcp.CallToolRequest) (*mcp.CallToolResult, error)

	mu      sync.Mutex
	waiting *mcp.InputRequest // the request the client was asked
	timer   *time.Timer       // expires the call while nobody waits on it
	req     context.Context   // the client request awaiting the call now
}

// requestCtx is the context of the client request that awaits the call:
// notifications for the call go on its stream.
func (c *parked) requestCtx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.req
}

type parkEvent struct {
	input  *mcp.InputRequest
	result *mcp.CallToolResult
	err    error

	// notRun is the verdict of a call that its decision did not let run
	// (and panicked what the decision panicked with, if it did).
	notRun   *Verdict
	panicked any
}

// decideSafely runs decide, turning a panic into a verdict that does not
// run the call and the panic's value, which the request's goroutine raises
// again: there mcp-go's recovery turns it into an error for the client,
// where on a worker it would end the process.
func decideSafely(decide func() (Verdict, bool)) (v Verdict, runs bool, panicked any) {
	defer func() {
		if r := recover(); r != nil {
			v, runs, panicked = Verdict{}, false, r
		}
	}()
	v, runs = decide()
	return v, runs, nil
}

// parking holds the calls waiting for the client's input, keyed by id.
type parking struct {
	key []byte // HMAC key for requestState, per process

	mu    sync.Mutex
	calls map[string]*parked
}

func newParking() *parking {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand never fails on Linux
	return &parking{key: key, calls: map[string]*parked{}}
}

// state is the requestState the client echoes: the call's id and a MAC
// over the id and the binding.
func (p *parking) state(c *parked) string {
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte(c.id + "\x00" + c.binding))
	return c.id + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// claim returns the parked call a requestState names, if the MAC is right
// and the retry is bound to the same session, tool and arguments. The call
// is removed from the table: an answer is accepted once.
func (p *parking) claim(state, binding string) (*parked, bool) {
	id, sig, ok := strings.Cut(state, ".")
	if !ok {
		return nil, false
	}
	want := hmac.New(sha256.New, p.key)
	want.Write([]byte(id + "\x00" + binding))
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, want.Sum(nil)) {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.calls[id]
	if !ok || c.binding != binding {
		return nil, false
	}
	delete(p.calls, id)
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	return c, true
}

// expireAll ends every parked call as its timeout would: the gateway is
// stopping, and no answer can reach them any more.
func (p *parking) expireAll() {
	p.mu.Lock()
	calls := p.calls
	p.calls = map[string]*parked{}
	p.mu.Unlock()
	for _, c := range calls {
		c.mu.Lock()
		if c.timer != nil {
			c.timer.Stop()
		}
		c.mu.Unlock()
		c.cancel()
	}
}

// park keeps c until the client answers or timeout passes; then c is
// cancelled.
func (p *parking) park(c *parked, timeout time.Duration) {
	if c.id == "" { // most calls never park: name and bind only those that do
		idb := make([]byte, 16)
		_, _ = rand.Read(idb) // crypto/rand never fails on Linux
		c.id = base64.RawURLEncoding.EncodeToString(idb)
		c.binding = c.bind()
	}
	p.mu.Lock()
	p.calls[c.id] = c
	p.mu.Unlock()
	c.mu.Lock()
	c.timer = time.AfterFunc(timeout, func() {
		p.mu.Lock()
		_, still := p.calls[c.id]
		delete(p.calls, c.id)
		p.mu.Unlock()
		if still {
			c.cancel()
		}
	})
	c.mu.Unlock()
}

// binding is what a retry must share with the call it continues.
func binding(ctx context.Context, exposed string, args any) string {
	b, _ := json.Marshal(args)
	sum := sha256.Sum256(b)
	session := ""
	if !mcp.IsModernProtocol(server.RequestProtocolVersion(ctx)) {
		_, session = clientIdentity(ctx) // stateless clients have no session to bind
	}
	return session + "\x00" + exposed + "\x00" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// startCall runs the upstream call in the background, with a relay that
// turns the upstream's requests into events of the parked call.
//
// The worker first decides the call (the enforcement step, or the verdict
// of an approved call), so that a call costs one hand-off between
// goroutines, and so that the policies run on a worker whose stack has
// already grown to their depth rather than on mcp-go's request goroutine,
// which the garbage collector has often shrunk since its last call
// (measured: ≈ 8 µs per call of copying stacks; see BENCHMARKS.md). A call
// decide does not let run ends with a notRun event and is not sent.
func (s *wsServer) startCall(ctx context.Context, conn *upstream.Conn, fwd upstream.Call, exposed string, args any, progress mcp.ProgressToken, decide func() (Verdict, bool)) *parked {
	c := &parked{
		bind:    func() string { return binding(ctx, exposed, args) },
		events:  make(chan parkEvent),
		answers: make(chan mcp.InputResponse),
		req:     ctx,
	}
	// The call outlives this request if the upstream asks for input; it
	// ends when it finishes, when the client cancels, or when it expires.
	callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	fwd.Relay = relay{c}
	if progress != nil {
		fwd.OnProgress = s.progressTo(c, progress)
	}
	s.workers.run(func() {
		defer cancel()
		verdict, runs, panicked := decideSafely(decide)
		if !runs {
			select {
			case c.events <- parkEvent{notRun: &verdict, panicked: panicked}:
			case <-callCtx.Done():
			}
			return
		}
		c.verdict = verdict // read by whoever receives an event
		if verdict.Arguments != nil {
			fwd.Arguments = verdict.Arguments
		}
		start := time.Now()
		res, err := conn.CallTool(callCtx, fwd)
		if done := verdict.Done; done != nil {
			// Here, once, whatever became of the call — before anyone
			// can read its end.
			done(context.WithoutCancel(callCtx), CallEnd{Result: res, Err: err, Cancelled: err != nil && callCtx.Err() != nil, Latency: time.Since(start)})
		}
		select {
		case c.events <- parkEvent{result: res, err: err}:
		case <-callCtx.Done():
		}
	})
	return c
}

// await waits for the call's next event. An input request parks the call
// and becomes an input_required result; the end of the call is returned as
// it is. If the client goes away meanwhile, the upstream call is cancelled.
func (s *wsServer) await(ctx context.Context, c *parked) (*mcp.CallToolResult, error) {
	c.mu.Lock()
	c.req = ctx
	c.mu.Unlock()
	select {
	case <-ctx.Done():
		c.cancel()
		return nil, ctx.Err()
	case ev := <-c.events:
		if ev.panicked != nil {
			panic(ev.panicked)
		}
		if ev.notRun != nil {
			return nil, notRun{*ev.notRun}
		}
		if ev.input == nil {
			return ev.result, ev.err
		}
		c.rounds++
		if c.rounds > maxInputRounds {
			c.cancel()
			return nil, fmt.Errorf("the upstream asked for input more than %d times in one call", maxInputRounds)
		}
		c.mu.Lock()
		c.waiting = ev.input
		c.mu.Unlock()
		s.parking.park(c, inputTimeout)
		res := &mcp.CallToolResult{
			Result:               mcp.Result{ResultType: mcp.ResultTypeInputRequired},
			MultiRoundTripResult: mcp.MultiRoundTripResult{InputRequests: mcp.InputRequests{inputRequestID: *ev.input}, RequestState: s.parking.state(c)},
		}
		return res, nil
	}
}

// resume delivers the client's answer to a parked call and awaits its next
// event.
func (s *wsServer) resume(ctx context.Context, exposed string, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	c, ok := s.parking.claim(req.Params.RequestState, binding(ctx, exposed, req.Params.Arguments))
	if !ok {
		res := toolError("Gatehouse refused the retry: " + errStaleState.Error())
		addMeta(res, s.refuse(ctx, exposed, &req, "a retry that answers no request of the gateway: "+errStaleState.Error()))
		return res, nil
	}
	if c.hold != nil {
		return s.resumeApproval(ctx, c, req)
	}
	answer, ok := req.Params.InputResponses[inputRequestID]
	c.mu.Lock()
	asked := c.waiting
	c.mu.Unlock()
	if !ok || asked == nil || answer.DecodeFor(asked.Method) != nil {
		c.cancel() // the call's own record says it was cancelled
		return toolError("Gatehouse refused the retry: " + errNoInput.Error()), nil
	}
	select {
	case c.answers <- answer:
	case <-ctx.Done():
		c.cancel()
		return nil, ctx.Err()
	}
	return s.finish(ctx, c)
}

// relay is the upstream.Relay of one call: it hands the upstream's request
// to whichever client request is awaiting the call, and waits for the
// answer the client's retry brings.
type relay struct{ c *parked }

var _ upstream.Relay = relay{}

func (r relay) ask(ctx context.Context, in mcp.InputRequest) (mcp.InputResponse, error) {
	select {
	case r.c.events <- parkEvent{input: &in}:
	case <-ctx.Done():
		return mcp.InputResponse{}, ctx.Err()
	}
	select {
	case a := <-r.c.answers:
		return a, nil
	case <-ctx.Done():
		return mcp.InputResponse{}, ctx.Err()
	}
}

func (r relay) CreateMessage(ctx context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	a, err := r.ask(ctx, mcp.NewSamplingInputRequest(req.CreateMessageParams))
	if err != nil {
		return nil, err
	}
	if a.Sampling == nil {
		return nil, errNoInput
	}
	return a.Sampling, nil
}

func (r relay) Elicit(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	a, err := r.ask(ctx, mcp.NewElicitationInputRequest(req.Params))
	if err != nil {
		return nil, err
	}
	if a.Elicitation == nil {
		return nil, errNoInput
	}
	return a.Elicitation, nil
}
