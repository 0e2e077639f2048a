package policy

import "strings"

// Redacted is what redaction puts in place of a matched span.
const Redacted = "[REDACTED]"

// RedactSecrets replaces every secret the secret detector finds in text
// with [REDACTED], for scanning tool results. It returns text unchanged
// (and found 0) when there is none.
func RedactSecrets(text string) (redacted string, found int) {
	norm := Normalize(text)
	fs := DetectOnly(norm, ThreatSecret)
	if len(fs) == 0 {
		return text, 0
	}
	var b strings.Builder
	last := 0
	for _, f := range fs {
		if f.Start < last {
			if f.End > last {
				last = f.End
			}
			continue
		}
		b.WriteString(norm[last:f.Start])
		b.WriteString(Redacted)
		last = f.End
	}
	b.WriteString(norm[last:])
	return b.String(), len(fs)
}
