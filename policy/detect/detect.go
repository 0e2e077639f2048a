// Package detect finds threats in text: secrets, personal data, prompt
// injection, shell injection, path traversal and destructive SQL. It is
// the detectors and nothing else, one file per threat over a shared
// scanner (scanner.go), with every kind of finding, its threat and its
// fixed severity in one table (kinds.go).
package detect

// Threat names a detector (DESIGN §4).
type Threat string

// The detectors.
const (
	ThreatSecret          Threat = "secret"
	ThreatPII             Threat = "pii"
	ThreatPromptInjection Threat = "prompt_injection"
	ThreatShellInjection  Threat = "shell_injection"
	ThreatPathTraversal   Threat = "path_traversal"
	ThreatSQLDestructive  Threat = "sql_destructive"
)

// Threats lists every detector, in the order they are documented.
var Threats = []Threat{
	ThreatSecret, ThreatPII, ThreatPromptInjection,
	ThreatShellInjection, ThreatPathTraversal, ThreatSQLDestructive,
}

// Finding is one span of a text that a detector matched.
type Finding struct {
	Threat Threat
	// Kind says what exactly matched: one of the kinds listed by Kinds.
	Kind string
	// Severity is fixed per Kind, in (0, 1].
	Severity float64
	// Start and End are byte offsets in the text: text[Start:End] is what
	// matched.
	Start, End int
}

// Detect returns what every detector finds in text, ordered by Start.
//
// The text is one string value of a call's arguments (or of a tool
// result), already normalised by the caller: NFKC, zero-width characters
// removed. Detect does not normalise again.
//
// What each detector finds, with its severity, is the table of kinds in
// kinds.go (listed by Kinds, and rendered in README.md's detector table);
// the rules that decide the hard cases are in the file of each threat.
func Detect(text string) []Finding {
	return appendFindings(nil, text, allThreats)
}

// AppendFindings is Detect appending to dst, so that a caller can reuse a
// buffer. It does not allocate when nothing is found and dst has room for
// what is.
func AppendFindings(dst []Finding, text string) []Finding {
	return appendFindings(dst, text, allThreats)
}

// DetectOnly is Detect restricted to the detectors of the threats named.
func DetectOnly(text string, threats ...Threat) []Finding {
	var want threatSet
	for _, t := range threats {
		want |= threatBit(t)
	}
	return appendFindings(nil, text, want)
}

// threatSet is a set of detectors, one bit per Threat.
type threatSet uint8

const (
	setSecret threatSet = 1 << iota
	setPII
	setPrompt
	setShell
	setPath
	setSQL

	allThreats = setSecret | setPII | setPrompt | setShell | setPath | setSQL
)

// threatBits gives each threat its bit, in the order of the sets above.
var threatBits = [...]struct {
	threat Threat
	set    threatSet
}{
	{ThreatSecret, setSecret}, {ThreatPII, setPII}, {ThreatPromptInjection, setPrompt},
	{ThreatShellInjection, setShell}, {ThreatPathTraversal, setPath}, {ThreatSQLDestructive, setSQL},
}

// threatBit is the bit of t; 0 for an unknown threat.
func threatBit(t Threat) threatSet {
	for _, b := range threatBits {
		if b.threat == t {
			return b.set
		}
	}
	return 0
}
