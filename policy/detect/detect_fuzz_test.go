package detect_test

import (
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy/detect"
)

// FuzzDetect checks the invariants of Detect on arbitrary text: spans in
// bounds and ordered, known kinds with their fixed severities, and
// DetectOnly(text, secret) a subset of Detect(text).
func FuzzDetect(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := detect.Detect(text)
		for i, x := range got {
			if x.Start < 0 || x.Start >= x.End || x.End > len(text) {
				t.Fatalf("Detect(%q)[%d] = %+v; want 0 <= Start < End <= %d", text, i, x, len(text))
			}
			if x.Severity <= 0 || x.Severity > 1 || detect.Severity(x.Kind) != x.Severity {
				t.Fatalf("Detect(%q)[%d] = %+v; want the severity of a known kind, in (0, 1]", text, i, x)
			}
			if i > 0 && got[i-1].Start > x.Start {
				t.Fatalf("Detect(%q) = %v; want findings ordered by Start", text, got)
			}
		}
		secrets := detect.DetectOnly(text, detect.ThreatSecret)
		for _, x := range secrets {
			if x.Threat != detect.ThreatSecret {
				t.Fatalf("DetectOnly(%q, secret) = %v; want secrets only", text, secrets)
			}
			found := false
			for _, y := range got {
				found = found || y == x
			}
			if !found {
				t.Fatalf("DetectOnly(%q, secret) = %v; want a subset of Detect = %v", text, secrets, got)
			}
		}
	})
}

// fuzzSeeds are the texts of the table tests and of the benchmarks.
func fuzzSeeds() []string {
	seeds := []string{cleanText(1024), dirtyText(1024), englishText, goSource, jsonDoc, pemKey}
	for _, tt := range detectCases() {
		seeds = append(seeds, tt.text)
	}
	return seeds
}
