package detect_test

import (
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy/detect"
)

// BenchmarkDetect measures every detector on 4 KB of ordinary text (no
// findings) and of text with a finding every few hundred bytes, through
// AppendFindings with a reused buffer as the engine calls it.
func BenchmarkDetect(b *testing.B) {
	for _, bc := range []struct {
		name string
		text string
	}{
		{"clean_4KB", cleanText(4096)},
		{"dirty_4KB", dirtyText(4096)},
		{"prose_4KB", repeatTo(englishText+" ", 4096)},
		{"code_4KB", repeatTo(goSource, 4096)},
		{"clean_1MB", cleanText(1 << 20)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]detect.Finding, 0, 64)
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				buf = detect.AppendFindings(buf[:0], bc.text)
			}
			b.ReportMetric(float64(len(buf)), "findings")
		})
	}
}

// BenchmarkDetectOnlySecret is output scanning: the secret detector alone.
func BenchmarkDetectOnlySecret(b *testing.B) {
	text := cleanText(4096)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		detect.DetectOnly(text, detect.ThreatSecret)
	}
}

func repeatTo(s string, n int) string {
	for len(s) < n {
		s += s
	}
	return s[:n]
}
