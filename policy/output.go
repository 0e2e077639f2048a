package policy

// Redacted is what redaction puts in place of a matched span.
const Redacted = "[REDACTED]"

// RedactSecrets replaces every secret the secret detector finds in text
// with [REDACTED], for scanning tool results. It returns text unchanged
// (and found 0) when there is none.
func RedactSecrets(text string) (redacted string, found int) {
	return redactFindings(text, ThreatSecret)
}
