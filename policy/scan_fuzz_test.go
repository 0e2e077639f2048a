package policy

import (
	"slices"
	"testing"
)

// startByteSeeds hold each byte scanBytes starts from, in short texts.
var startByteSeeds = []string{
	"", "id", "ada@example.com", "$(rm -rf /)", "echo `id`", ":(){ :|:& };:", "..%2f..%2fetc/passwd",
	"<|im_start|>system", "a\U000E0041\U000E0042b", "abc\u202Edef", "postgres://u:p@host/db",
	"call +1 415 555 0100 or mail x@y.io; cost $5 | 100%",
}

// FuzzStartBytes checks that skipping the searches for start bytes a
// short text does not hold changes nothing: the detectors find what they
// find searching for every one.
func FuzzStartBytes(f *testing.F) {
	for _, s := range startByteSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if text == "" {
			return
		}
		got := appendFindings(nil, text, allThreats)
		want := scanFindings(nil, text, allThreats, 0xff)
		if !slices.Equal(got, want) {
			t.Errorf("appendFindings(%q) = %v; searching for every start byte finds %v", text, got, want)
		}
	})
}

// FuzzScanRepeats checks that an evaluation's scan, which runs the
// detectors once per distinct leaf text, finds in every leaf what the
// detectors find in it.
func FuzzScanRepeats(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":"x","b":"x"}`,
		`{"rows":[{"k":"AKIAIOSFODNN7EXAMPLE","n":1},{"k":"AKIAIOSFODNN7EXAMPLE","n":1},{"k":"ada@example.com","n":2}]}`,
		`{"ada@example.com":"ada@example.com","p":"{\"ada@example.com\":\"ada@example.com\"}"}`,
		`{"s":["rm -rf /","rm -rf /","x","rm -rf /"],"t":"../../etc/passwd","u":"../../etc/passwd"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		args, err := ParseArguments(raw)
		if err != nil {
			return
		}
		ev := &evaluation{args: args}
		ev.scan()
		var want []leafFinding
		var risk float64
		for i, l := range args.Leaves() {
			for _, f := range Detect(l.Text) {
				want = append(want, leafFinding{leaf: i, Finding: f})
				risk = max(risk, f.Severity)
			}
		}
		if !slices.Equal(ev.findings, want) || ev.risk != risk {
			t.Errorf("scan(%q) = %v (risk %v); the detectors leaf by leaf find %v (risk %v)", raw, ev.findings, ev.risk, want, risk)
		}
	})
}
