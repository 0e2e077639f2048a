package policy

import (
	"slices"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy/detect"
)

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
			for _, f := range detect.Detect(l.Text) {
				want = append(want, leafFinding{leaf: i, Finding: f})
				risk = max(risk, f.Severity)
			}
		}
		if !slices.Equal(ev.findings, want) || ev.risk != risk {
			t.Errorf("scan(%q) = %v (risk %v); the detectors leaf by leaf find %v (risk %v)", raw, ev.findings, ev.risk, want, risk)
		}
	})
}
