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
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/upstream"
)

// A call runs on a flight: a worker goroutine that can outlive the client
// request that started it. While a call runs, someone may have to be asked
// something: the upstream may ask the client for an LLM completion
// (sampling) or for the person's input (elicitation), and a call held for
// approval asks the person for a yes. Gatehouse asks with the multi
// round-trip pattern of protocol 2026-07-28: the flight waits ("parks"),
// the client gets an input_required result carrying the question and a
// signed requestState, and its retry of the call delivers the answer to the
// waiting flight. For 2025-11-25 clients mcp-go (or the stdio fast path)
// turns an input_required result into elicitation/create or
// sampling/createMessage and calls the handler again with the answers, so
// one path serves both protocol generations; only the approval question is
// put to them directly (Ask), as their protocol allows.
//
// A retry must be bound to the call it continues: same session (for
// 2025-11-25), tool and arguments, with a state the gateway signed, once,
// before the question expires. Anything else — answers the gateway never
// asked for, a replay, a state for other arguments or altered — is refused
// and recorded.

// Bounds of a parked call: how long the client has to answer one of the
// upstream's input requests, and how many rounds one call may take.
const (
	inputTimeout   = 10 * time.Minute
	maxInputRounds = 32
)

// The keys of the questions among a result's input requests.
const (
	inputRequestID    = "upstream"
	approvalRequestID = "gatehouse-approval"
)

// Errors of the relay, as the client reads them.
var (
	errStaleState   = errors.New("this answer does not belong to a call waiting for input: it expired, was already answered, or was never issued")
	errNoInput      = errors.New("the retry carries no answer to the upstream's request")
	errUnaskedInput = errors.New("it carries answers to questions the gateway did not ask (no requestState); make the call again without them")
	errExpired      = errors.New("the question expired")
)

// notifyTimeout bounds the upstream requests the gateway makes on its own
// (unsubscribing for a client that went away).
const notifyTimeout = 5 * time.Second

// flight is one call on its way: decided, perhaps asking, forwarded.
type flight struct {
	s        *wsServer
	upstream string                  // the upstream the call is forwarded to, once it is
	session  string                  // the client's session; "" when stateless
	ctx      context.Context         // the call's own: ends when it ends, is cancelled, or expires
	cancel   context.CancelCauseFunc // errExpired when a question expired
	modern   bool                    // the client speaks 2026-07-28

	id      string        // set when the call first parks
	binding string        // what a retry must match: session, tool, arguments
	bind    func() string // computes binding, when the call first parks

	events  chan flightEvent       // from the call: a question, or its end
	answers chan mcp.InputResponse // to the question waiting in the call
	rounds  int

	mu       sync.Mutex
	answered bool              // the call has its result: no more progress
	asked    string            // the key of the question the client was asked
	waiting  *mcp.InputRequest // that question
	timer    *time.Timer       // expires the call while nobody waits on it
	req      context.Context   // the client request awaiting the call now
	meta     *mcp.Meta         // that request's _meta: its progress token, what goes upstream
}

// flightEvent is a question of the call, or its end.
type flightEvent struct {
	question *mcp.InputRequest
	key      string         // the question's key among input requests
	timeout  time.Duration  // how long the client has to answer it
	meta     map[string]any // for the _meta of the result that asks it

	result *mcp.CallToolResult
	err    error
}

// fly runs the call body on a flight and awaits its first event: a
// question for the client, or the call's end. The flight starts from ctx,
// the client's request, but is not ended by it once the call parks;
// landed is called when it has (the call's count in flight ends).
func (s *wsServer) fly(ctx context.Context, exposed string, req mcp.CallToolRequest, landed func(), body func(*flight) *mcp.CallToolResult) (*mcp.CallToolResult, error) {
	callCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	f := &flight{
		s: s, ctx: callCtx, cancel: cancel, session: sessionOf(ctx),
		modern:  mcp.IsModernProtocol(server.RequestProtocolVersion(ctx)),
		bind:    func() string { return binding(ctx, exposed, req.Params.Arguments) },
		events:  make(chan flightEvent),
		answers: make(chan mcp.InputResponse),
		req:     ctx,
		meta:    req.Params.Meta,
	}
	s.workers.run(func() {
		defer landed()
		defer cancel(nil)
		ev := flightEvent{}
		func() {
			defer func() {
				if r := recover(); r != nil {
					// A bug in the call's path fails the call, not the
					// gateway: this goroutine is not mcp-go's.
					s.log.Error("panic in a tool call", "tool", exposed, "panic", r, "stack", string(debug.Stack()))
					ev = flightEvent{err: fmt.Errorf("panic recovered in %s tool handler: %v", exposed, r)}
				}
			}()
			ev.result = body(f)
		}()
		f.mu.Lock()
		f.answered = true // progress sent from now on would follow the result
		f.mu.Unlock()
		select {
		case f.events <- ev:
		case <-callCtx.Done():
		}
	})
	return s.await(ctx, f)
}

// await waits for the call's next event. If the client goes away
// meanwhile, the call is cancelled.
func (s *wsServer) await(ctx context.Context, f *flight) (*mcp.CallToolResult, error) {
	select {
	case <-ctx.Done():
		f.cancel(context.Canceled)
		return nil, ctx.Err()
	case ev := <-f.events:
		return s.next(ctx, f, ev)
	}
}

// next is what the client gets for the call's event ev: a question parks
// the call and becomes an input_required result; the end of the call is
// returned as it is.
func (s *wsServer) next(ctx context.Context, f *flight, ev flightEvent) (*mcp.CallToolResult, error) {
	if ev.question == nil {
		if ev.err == nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return ev.result, ev.err
	}
	f.rounds++
	if f.rounds > maxInputRounds {
		f.cancel(context.Canceled)
		return nil, fmt.Errorf("the upstream asked for input more than %d times in one call", maxInputRounds)
	}
	f.mu.Lock()
	f.asked, f.waiting = ev.key, ev.question
	f.mu.Unlock()
	s.parking.park(f, ev.timeout)
	return withMeta(&mcp.CallToolResult{
		Result:               mcp.Result{ResultType: mcp.ResultTypeInputRequired},
		MultiRoundTripResult: mcp.MultiRoundTripResult{InputRequests: mcp.InputRequests{ev.key: *ev.question}, RequestState: s.parking.state(f)},
	}, ev.meta), nil
}

// follow makes the client request ctx, whose _meta is meta, the one that
// awaits the call: its progress and notifications go there from now on.
func (f *flight) follow(ctx context.Context, meta *mcp.Meta) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.req, f.meta = ctx, meta
}

// current is the _meta of the client request awaiting the call.
func (f *flight) current() *mcp.Meta {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.meta
}

// resume delivers the client's answer to a parked call and awaits its next
// event.
func (s *wsServer) resume(ctx context.Context, exposed string, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	f, ok := s.parking.claim(req.Params.RequestState, binding(ctx, exposed, req.Params.Arguments))
	if !ok {
		return s.refuse(ctx, exposed, &req, "Gatehouse refused the retry: "+errStaleState.Error(), "a retry that answers no request of the gateway: "+errStaleState.Error()), nil
	}
	f.mu.Lock()
	key, asked := f.asked, f.waiting
	f.mu.Unlock()
	answer, ok := req.Params.InputResponses[key]
	if !ok || asked == nil || answer.DecodeFor(asked.Method) != nil {
		if key != approvalRequestID {
			f.cancel(context.Canceled) // the call's own record says it was cancelled
			return enforce.ToolError("Gatehouse refused the retry: " + errNoInput.Error()), nil
		}
		answer = mcp.InputResponse{} // no yes: the approval was not given
	}
	f.follow(ctx, req.Params.Meta)
	select {
	case f.answers <- answer:
	case ev := <-f.events:
		// The call went on without the answer (the upstream stopped
		// waiting for it): it ended, or asks something else.
		return s.next(ctx, f, ev)
	case <-ctx.Done():
		f.cancel(context.Canceled)
		return nil, ctx.Err()
	}
	return s.await(ctx, f)
}

// ask puts a question to whichever client request awaits the call, and
// waits for the answer its retry brings, at most timeout from when it is
// put.
func (f *flight) ask(ctx context.Context, key string, q mcp.InputRequest, timeout time.Duration, meta map[string]any) (mcp.InputResponse, error) {
	// The upstream's relay asks with a context of its own connection:
	// the question ends with the call too.
	ctx, stop := mergeCancel(ctx, f.ctx)
	defer stop()
	select {
	case f.events <- flightEvent{question: &q, key: key, timeout: timeout, meta: meta}:
	case <-ctx.Done():
		return mcp.InputResponse{}, context.Cause(ctx)
	}
	select {
	case a := <-f.answers:
		return a, nil
	case <-ctx.Done():
		return mcp.InputResponse{}, context.Cause(ctx)
	}
}

// mergeCancel is ctx, ended also when other ends, with other's cause.
func mergeCancel(ctx, other context.Context) (context.Context, context.CancelFunc) {
	if ctx == other {
		return ctx, func() {}
	}
	merged, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(other, func() { cancel(context.Cause(other)) })
	return merged, func() {
		stop()
		cancel(context.Canceled)
	}
}

var _ enforce.Asker = (*flight)(nil)

// Ask puts the approval question to the person at the client: by
// elicitation/create on a 2025-11-25 client's session, as an input request
// of the call for a 2026-07-28 client.
func (f *flight) Ask(ctx context.Context, q enforce.Question) (*mcp.ElicitationResult, error) {
	if !f.modern {
		actx, cancel := context.WithTimeout(ctx, q.Timeout)
		defer cancel()
		res, err := f.s.mcp.RequestElicitation(actx, mcp.ElicitationRequest{
			Request: mcp.Request{Method: string(mcp.MethodElicitationCreate)},
			Params:  q.Elicitation,
		})
		if err != nil && actx.Err() != nil && ctx.Err() == nil {
			return nil, enforce.ErrExpired
		}
		return res, err
	}
	a, err := f.ask(ctx, approvalRequestID, mcp.NewElicitationInputRequest(q.Elicitation), q.Timeout, q.Meta)
	if errors.Is(err, errExpired) {
		return nil, enforce.ErrExpired
	}
	if err != nil {
		return nil, err
	}
	return a.Elicitation, nil
}

var _ upstream.Relay = (*flight)(nil)

// CreateMessage relays the upstream's sampling request to the client.
func (f *flight) CreateMessage(ctx context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	params := req.CreateMessageParams
	params.Messages = scanned(f, params.Messages)
	params.SystemPrompt = scanned(f, params.SystemPrompt)
	a, err := f.ask(ctx, inputRequestID, mcp.NewSamplingInputRequest(params), inputTimeout, nil)
	if err != nil {
		return nil, err
	}
	if a.Sampling == nil {
		return nil, errNoInput
	}
	return a.Sampling, nil
}

// Elicit relays the upstream's elicitation request to the client, its
// message labelled with the upstream so that it cannot pass for
// Gatehouse's own question.
func (f *flight) Elicit(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	params := req.Params
	params.RequestedSchema = scanned(f, params.RequestedSchema)
	params.Message = fmt.Sprintf("Upstream %s asks (this is not a Gatehouse question): %s", strconv.Quote(f.upstream), scanned(f, params.Message))
	a, err := f.ask(ctx, inputRequestID, mcp.NewElicitationInputRequest(params), inputTimeout, nil)
	if err != nil {
		return nil, err
	}
	if a.Elicitation == nil {
		return nil, errNoInput
	}
	return a.Elicitation, nil
}

// scanned is v — what the upstream of f sends the client outside its
// result — with its secrets redacted when the workspace scans output.
func scanned[T any](f *flight, v T) T {
	return enforce.ScanRelayed(f.s.enforcer(), f.s.ws.Name(), v)
}

// progress passes an upstream's progress to the client request that
// awaits the call now, under that request's own progress token and on its
// stream; a request without a token gets none.
func (f *flight) progress(p mcp.ProgressNotificationParams) {
	// Under the lock, so that once the call has its result no progress is
	// sent, and the result's delivery barrier counts every one sent before
	// (see delivery.go).
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.answered || f.meta == nil || f.meta.ProgressToken == nil {
		f.s.log.Debug("progress dropped: the call has its result, or its request no progress token", "progress", p.Progress)
		return
	}
	params := map[string]any{"progressToken": f.meta.ProgressToken, "progress": p.Progress}
	if p.Total != 0 {
		params["total"] = p.Total
	}
	if p.Message != "" {
		params["message"] = scanned(f, p.Message)
	}
	if err := f.s.mcp.SendNotificationToClient(f.req, string(mcp.MethodNotificationProgress), params); err != nil {
		f.s.log.Debug("progress not delivered", "err", err)
		return
	}
	if d := deliveryOf(f.req); d != nil {
		d.sent()
	}
	f.s.log.Debug("progress relayed", "progress", p.Progress)
}

// parking holds the calls waiting for the client's input, keyed by id.
type parking struct {
	key []byte // HMAC key for requestState, per process

	mu    sync.Mutex
	calls map[string]*flight
}

func newParking() *parking {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand never fails on Linux
	return &parking{key: key, calls: map[string]*flight{}}
}

// state is the requestState the client echoes: the call's id and a MAC
// over the id and the binding.
func (p *parking) state(f *flight) string {
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte(f.id + "\x00" + f.binding))
	return f.id + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// claim returns the parked call a requestState names, if the MAC is right
// and the retry is bound to the same session, tool and arguments. The call
// is removed from the table: an answer is accepted once.
func (p *parking) claim(state, binding string) (*flight, bool) {
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
	f, ok := p.calls[id]
	if !ok || f.binding != binding {
		return nil, false
	}
	delete(p.calls, id)
	f.stopTimer()
	return f, true
}

func (f *flight) stopTimer() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer != nil {
		f.timer.Stop()
	}
}

// expireAll ends every parked call as its timeout would: the gateway is
// stopping, and no answer can reach them any more.
func (p *parking) expireAll() {
	p.mu.Lock()
	calls := p.calls
	p.calls = map[string]*flight{}
	p.mu.Unlock()
	for _, f := range calls {
		f.stopTimer()
		f.cancel(errExpired)
	}
}

// park keeps f until the client answers or timeout passes; then f's call
// is cancelled as expired.
func (p *parking) park(f *flight, timeout time.Duration) {
	if f.id == "" { // most calls never park: name and bind only those that do
		idb := make([]byte, 16)
		_, _ = rand.Read(idb) // crypto/rand never fails on Linux
		f.id = base64.RawURLEncoding.EncodeToString(idb)
		f.binding = f.bind()
	}
	p.mu.Lock()
	p.calls[f.id] = f
	p.mu.Unlock()
	f.mu.Lock()
	f.timer = time.AfterFunc(timeout, func() {
		p.mu.Lock()
		_, still := p.calls[f.id]
		delete(p.calls, f.id)
		p.mu.Unlock()
		if still {
			f.cancel(errExpired)
		}
	})
	f.mu.Unlock()
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

// canAsk reports whether the client can put a question to the person: it
// declared elicitation, on this request (2026-07-28) or when it
// initialized its session (2025-11-25).
func canAsk(ctx context.Context) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.ClientCapabilities != nil && info.ClientCapabilities.Elicitation != nil
	}
	sess, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo)
	return ok && sess.GetClientCapabilities().Elicitation != nil
}
