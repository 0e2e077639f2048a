package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy/detect"
)

// UpstreamOutcome is how a call ended at the upstream.
type UpstreamOutcome string

// The upstream outcomes of a call.
const (
	// UpstreamNotRun: the verdict did not allow the call, so it never
	// reached the upstream.
	UpstreamNotRun UpstreamOutcome = "not_run"
	// UpstreamOK: the upstream answered with a result.
	UpstreamOK UpstreamOutcome = "ok"
	// UpstreamToolError: the upstream answered with a result marked
	// isError.
	UpstreamToolError UpstreamOutcome = "tool_error"
	// UpstreamTransportError: the upstream could not be reached or did not
	// answer (unavailable, protocol error, timeout).
	UpstreamTransportError UpstreamOutcome = "transport_error"
	// UpstreamCancelled: the client cancelled the call, or went away,
	// before the upstream answered.
	UpstreamCancelled UpstreamOutcome = "cancelled"
	// UpstreamUnknown: the call was forwarded, and the gateway stopped
	// (killed, crashed) before it could record how the call ended.
	UpstreamUnknown UpstreamOutcome = "unknown"
)

// Record is the verdict record of one tools/call (DESIGN §5): the call, the
// verdict and how the call ended.
type Record struct {
	// ID is the verdict id the client saw in the result's _meta: a ULID,
	// so records sort by time.
	ID string
	// Time is when the call reached the gateway.
	Time time.Time
	// Call is the call as the client sent it. The arguments are kept only
	// as the log's arguments setting says (see AuditArguments).
	Call Call
	// Verdict is the engine's verdict.
	Verdict Verdict
	// Upstream is how the call ended at the upstream; UpstreamError says
	// why it failed, when it did.
	Upstream      UpstreamOutcome
	UpstreamError string
	// UpstreamLatency is how long the upstream took; 0 when not run.
	UpstreamLatency time.Duration
	// Overhead is the time the gateway itself spent on the call: from its
	// arrival to its answer, less the upstream's time.
	Overhead time.Duration
	// Approval is what became of a call held for approval.
	Approval ApprovalOutcome
}

// Recorder keeps the verdict records: the verdict log.
type Recorder interface {
	// Start keeps r, the record of a call about to be forwarded, so that
	// it outlives a crash of the gateway: when Start returns nil, the log
	// will hold the call even if the process is killed the next moment
	// (with the outcome UpstreamUnknown, until Record completes it). An
	// error means it is not kept: a workspace that requires the log must
	// not forward the call.
	Start(r Record) error
	// Record queues r to be kept — a call's whole record, completing the
	// one Start kept for a forwarded call. It does not wait for the disk;
	// an error means r will not be kept (the recorder is closed, or its
	// queue is full).
	Record(r Record) error
	// Err says why records cannot be kept right now — the log cannot be
	// written — or is nil when they can. A gateway that must not run calls
	// unrecorded refuses them while Err is not nil.
	Err() error
}

// The forms in which the verdict log keeps a call's arguments (the
// audit.arguments setting).
const (
	// ArgumentsMasked: the arguments with every detector hit and every
	// redacted span replaced by [REDACTED].
	ArgumentsMasked = "masked"
	// ArgumentsHash: "sha256:" and the hex SHA-256 of the arguments'
	// canonical JSON, so equal calls can be matched without their content.
	ArgumentsHash = "hash"
	// ArgumentsNone: nothing.
	ArgumentsNone = "none"
)

// AuditArguments returns what the verdict log keeps of the arguments of the
// call v decided, in form: masked JSON, a hash, or "" for none. It also
// returns the form it used: arguments that cannot be read, or masked, are
// kept as a hash instead — never as they were sent.
func AuditArguments(raw json.RawMessage, v *Verdict, form string) (string, string) {
	switch form {
	case ArgumentsNone:
		return "", ArgumentsNone
	case ArgumentsHash:
		return HashArguments(raw), ArgumentsHash
	}
	if masked, err := maskArguments(raw, v); err == nil {
		return string(masked), ArgumentsMasked
	}
	return HashArguments(raw), ArgumentsHash
}

// HashArguments is "sha256:" and the hex SHA-256 of the canonical JSON of
// raw (of raw itself when it is not a readable object).
func HashArguments(raw json.RawMessage) string {
	text := string(raw)
	if a, err := ParseArguments(raw); err == nil {
		text = a.Canonical()
	}
	sum := sha256.Sum256([]byte(text))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// maskArguments replaces every detector hit and every redacted span of the
// arguments by [REDACTED]. It reuses what the evaluation found when the
// verdict still holds it.
func maskArguments(raw json.RawMessage, v *Verdict) ([]byte, error) {
	if v != nil && v.mask != nil {
		return v.mask.args.Redact(v.mask.spans)
	}
	args, err := ParseArguments(raw)
	if err != nil {
		return nil, err
	}
	var spans []Span
	var buf []Finding
	leaves := args.Leaves()
	for i, l := range leaves {
		buf = detect.AppendFindings(buf[:0], l.Text)
		buf = appendFieldFindings(buf, leaves, i, nil)
		for _, f := range buf {
			spans = append(spans, Span{Leaf: i, Start: f.Start, End: f.End})
		}
	}
	if len(spans) == 0 && len(raw) == 0 {
		return []byte("{}"), nil
	}
	return args.Redact(spans)
}

// argMask is what an evaluation keeps for the verdict log to mask the
// arguments without reading and scanning them again.
type argMask struct {
	args  *Arguments
	spans []Span // redacted spans and detector hits
}

// keepMask notes, on the verdict, the spans the verdict log must mask.
func (ev *evaluation) keepMask() {
	spans := make([]Span, 0, len(ev.spans)+len(ev.findings))
	spans = append(spans, ev.spans...)
	for _, f := range ev.findings {
		spans = append(spans, Span{Leaf: f.leaf, Start: f.Start, End: f.End})
	}
	ev.v.mask = &argMask{args: ev.args, spans: spans}
}

// MaskText replaces every detector hit in text by [REDACTED], for free text
// that goes into the verdict log or a log line (a judge's reason, an
// upstream's error message, a client's name). Text with no hit comes back
// as it was.
func MaskText(text string) string {
	masked, _ := redactFindings(text)
	return masked
}

// Mask is MaskText for the verdict's own texts (its reason, message and
// warnings): the deciding policies' own words — their names and configured
// messages — are kept as written, so that the log reads what the client
// read; a hit in what came from the call or the judge is masked.
func (v *Verdict) Mask(text string) string {
	if len(v.own) == 0 {
		return MaskText(text)
	}
	norm := Normalize(text)
	fs := detect.Detect(norm)
	if len(fs) == 0 {
		return text
	}
	var keep []cutRange
	for _, o := range v.own {
		o = Normalize(o)
		for from := 0; o != ""; {
			i := strings.Index(norm[from:], o)
			if i < 0 {
				break
			}
			keep = append(keep, cutRange{from + i, from + i + len(o)})
			from += i + 1
		}
	}
	var b strings.Builder
	last := 0
	for _, f := range fs {
		if f.Start < last {
			last = max(last, f.End)
			continue
		}
		if slices.ContainsFunc(keep, func(k cutRange) bool { return k.start <= f.Start && f.End <= k.end }) {
			continue
		}
		b.WriteString(norm[last:f.Start])
		b.WriteString(Redacted)
		last = f.End
	}
	b.WriteString(norm[last:])
	return b.String()
}

// cutRange is a byte range of a text.
type cutRange struct{ start, end int }

// redactFindings replaces what the detectors of threats (all of them when
// none is named) find in text by [REDACTED], and says how many they found.
func redactFindings(text string, threats ...Threat) (string, int) {
	norm := Normalize(text)
	var fs []Finding
	if len(threats) == 0 {
		fs = detect.Detect(norm)
	} else {
		fs = detect.DetectOnly(norm, threats...)
	}
	if len(fs) == 0 {
		return text, 0
	}
	var b strings.Builder
	last := 0
	for _, f := range fs {
		if f.Start < last {
			last = max(last, f.End)
			continue
		}
		b.WriteString(norm[last:f.Start])
		b.WriteString(Redacted)
		last = f.End
	}
	b.WriteString(norm[last:])
	return b.String(), len(fs)
}

// ErrRecorderClosed is returned by a Recorder that no longer takes records.
var ErrRecorderClosed = errors.New("the verdict log is closed")
