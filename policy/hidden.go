package policy

import (
	"strings"

	"github.com/gatehouse-mcp/gatehouse/policy/detect"
)

// Normalisation removes invisible characters (jsondoc.Normalize), which
// glues the words they separate: "token\u200bghp_…" reads "tokenghp_…",
// and a token that must stand alone is no longer found. The detectors of
// secrets and personal data therefore also read a leaf's spaced view
// (Arguments.SpacedViews), in which each removed character is a space; a
// match there is placed where it stands in the leaf's text.

// HiddenFindings returns what the detectors of threats find in view, a
// leaf's spaced view, placed in text, the leaf's own text; a match that
// does not stand in text as it is (it spans a removed character) is left
// out.
func HiddenFindings(view, text string, threats ...Threat) []Finding {
	var out []Finding
	for _, f := range detect.DetectOnly(view, threats...) {
		m := view[f.Start:f.End]
		j := strings.Index(text, m)
		if j < 0 {
			continue
		}
		f.Start, f.End = j, j+len(m)
		out = append(out, f)
	}
	return out
}

// hiddenThreats are the detectors that want a match to stand alone.
var hiddenThreats = []Threat{ThreatSecret, ThreatPII}

// appendHiddenFindings appends the findings of leaf's spaced view that
// the leaf's own findings (in known) do not already hold.
func appendHiddenFindings(dst []Finding, view, text string, known []leafFinding, leaf int) []Finding {
	for _, f := range HiddenFindings(view, text, hiddenThreats...) {
		dup := false
		for _, k := range known {
			if k.leaf == leaf && k.Kind == f.Kind && k.Start < f.End && f.Start < k.End {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, f)
		}
	}
	return dst
}

// SecretSpans are the spans of doc's leaves that keep accepts which the
// detectors of threats find — in a leaf's text, in its spaced view, and
// the value of a member whose key names a credential (KeySecrets) — for
// Redact: how every scan of what reaches a client or a person masks.
func SecretSpans(doc *Arguments, keep func(Leaf) bool, threats ...Threat) []Span {
	leaves := doc.Leaves()
	views := doc.SpacedViews()
	var spans []Span
	for i, l := range leaves {
		if !keep(l) {
			continue
		}
		fs := append(DetectOnly(l.Text, threats...), KeySecrets(leaves, i)...)
		if views != nil && views[i] != "" {
			fs = append(fs, HiddenFindings(views[i], l.Text, threats...)...)
		}
		for _, f := range fs {
			spans = append(spans, Span{Leaf: i, Start: f.Start, End: f.End})
		}
	}
	return spans
}
