package policy

import "github.com/gatehouse-mcp/gatehouse/policy/internal/jsondoc"

// Arguments are a call's arguments parsed once: every string normalised,
// a canonical form, field lookup and redaction (package
// policy/internal/jsondoc). They are read-only once parsed and safe for
// concurrent use.
type Arguments = jsondoc.Arguments

// Leaf is one string, number or object key of the arguments as policies
// and detectors see it.
type Leaf = jsondoc.Leaf

// LeafKind says what a Leaf is.
type LeafKind = jsondoc.LeafKind

// The kinds of leaves.
const (
	LeafString = jsondoc.LeafString
	LeafNumber = jsondoc.LeafNumber
	LeafKey    = jsondoc.LeafKey
)

// Span is a part of a leaf to redact: bytes Start to End of
// Leaves()[Leaf].Text.
type Span = jsondoc.Span

// ErrArguments wraps every reason ParseArguments refuses a call's
// arguments.
var ErrArguments = jsondoc.ErrArguments

// ParseArguments reads raw, the arguments of a call: a JSON object, where
// empty input (or only white space) and null stand for {}. It refuses a
// key repeated in any object and nesting deeper than 128; every error
// wraps ErrArguments. See jsondoc.Parse.
func ParseArguments(raw []byte) (*Arguments, error) {
	return jsondoc.Parse(raw)
}

// ParseResult reads raw, a JSON object a tool returned, to scan it: as
// ParseArguments, but keys that differ only in case are allowed. See
// jsondoc.ParseResult.
func ParseResult(raw []byte) (*Arguments, error) {
	return jsondoc.ParseResult(raw)
}

// Canonicalize is ParseArguments(raw) then Canonical, for callers that only
// need the canonical form (cache keys, approval binding).
func Canonicalize(raw []byte) (string, error) {
	return jsondoc.Canonicalize(raw)
}

// Normalize is the normalisation every string of the arguments gets:
// invalid UTF-8 becomes U+FFFD, then NFKC, and the invisible characters
// that can hide inside a word are removed (see jsondoc.Normalize).
func Normalize(s string) string {
	return jsondoc.Normalize(s)
}
