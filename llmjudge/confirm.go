package llmjudge

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// A second opinion (Options.Confirm). A call that acts — writes, sends,
// pays, deletes… — and is in scope of a strict policy is put to a second
// model (or a second time to the same one) at the same time as to the
// first, so that it costs no more time than the slower of the two. For
// each strict policy the more severe verdict stands: violate over
// needs_approval over comply. A comply stands only when both say so;
// any violate wins. The other policies keep the first model's verdict.

// actingWords are the words of a tool name that say the call acts rather
// than reads. The list errs towards acting: a needless second opinion
// costs tokens, not time (it is asked at once), while a missed one leaves
// a strict policy to one model.
var actingWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`write send pay payment payout transfer wire refund charge withdraw
		delete remove drop destroy purge truncate wipe erase kill terminate revoke
		create insert add upsert update patch put post set edit modify replace rename move
		email mail message notify publish share invite grant approve
		push merge commit deploy release apply install upgrade
		exec execute run eval shell command upload`) {
		actingWords[w] = true
	}
}

// acts reports whether a tool's name says it acts: one of its words
// (split at every character that is not a letter or digit, and where a
// lower-case letter meets a capital) is an acting word.
func acts(tool string) bool {
	for _, w := range toolWords(tool) {
		if actingWords[w] {
			return true
		}
	}
	return false
}

// toolWords splits a tool name into lower-case words: "sendEmail",
// "send_email" and "send-email" are send and email.
func toolWords(tool string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range tool {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return words
}

// wantsConfirm reports whether req is to get a second opinion: its tool
// acts and a strict policy is asked.
func wantsConfirm(req policy.JudgeRequest) bool {
	if !acts(req.Call.Tool) {
		return false
	}
	for _, p := range req.Policies {
		if p.Strict {
			return true
		}
	}
	return false
}

// allViolated reports whether results violate every strict policy of req:
// no second opinion could make them more severe.
func allViolated(req policy.JudgeRequest, results []policy.JudgeResult) bool {
	strict := map[string]bool{}
	for _, p := range req.Policies {
		strict[p.ID] = p.Strict
	}
	for _, r := range results {
		if strict[r.Policy] && r.Verdict != policy.JudgeViolate {
			return false
		}
	}
	return true
}

// severity orders the verdicts: the higher stands.
func severity(v policy.JudgeVerdict) int {
	switch v {
	case policy.JudgeComply:
		return 0
	case policy.JudgeNeedsApproval:
		return 1
	}
	return 2 // violate
}

// merge returns the first answer with, for each strict policy, the more
// severe of the two verdicts. second is the second opinion's results, or
// nil when it failed with secondErr: then a strict policy the first
// answer lets through (comply) cannot stand, and the judgment fails.
func merge(req policy.JudgeRequest, first []policy.JudgeResult, second []policy.JudgeResult, secondName string, secondErr error) ([]policy.JudgeResult, error) {
	strict := map[string]bool{}
	for _, p := range req.Policies {
		strict[p.ID] = p.Strict
	}
	other := map[string]policy.JudgeResult{}
	for _, r := range second {
		other[r.Policy] = r
	}
	out := make([]policy.JudgeResult, len(first))
	for i, r := range first {
		out[i] = r
		if !strict[r.Policy] {
			continue
		}
		if secondErr != nil {
			if r.Verdict == policy.JudgeComply {
				return nil, fmt.Errorf("the second opinion (%s), which a strict policy's comply needs, failed: %w", secondName, secondErr)
			}
			continue
		}
		if o, ok := other[r.Policy]; ok && severity(o.Verdict) > severity(r.Verdict) {
			o.Reason = orElse(o.Reason, r.Reason)
			o.Analysis = "second opinion (" + secondName + "): " + o.Analysis
			out[i] = o
		}
	}
	return out, nil
}

func orElse(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
