package detect

import (
	"slices"
	"strings"
)

// The prompt_injection detector: instruction-override phrases, jailbreaks,
// concealment, prompt leaks, chat-template role markers, Unicode tag
// characters and bidi overrides.
//
// Rules that decide the hard cases:
// Ignore/disregard/forget/override needs an object (instructions, rules,
// prompts, …) qualified as previous, prior, above, your, system … ("ignore
// the above rule"), or as all, any, every with a plural object ("ignore all
// rules", not "ignore any rule that …").

// promptTriggers are the words that start the prompt_injection matchers.
var promptTriggers = slices.Concat(
	folded(setPrompt, actOverride, "ignore", "disregard", "forget", "override", "stop", "pay"),
	folded(setPrompt, actNewInstructions, "new", "updated", "revised"),
	folded(setPrompt, actImportant, "important"),
	folded(setPrompt, actYou, "you"),
	folded(setPrompt, actActAs, "act", "pretend"),
	folded(setPrompt, actAnything, "anything"),
	folded(setPrompt, actLeak, "reveal", "show", "print", "repeat", "output", "display", "leak", "dump", "disclose", "tell"),
	folded(setPrompt, actConceal, "tell", "telling", "mention", "mentioning", "inform", "informing",
		"notify", "notifying", "alert", "alerting", "reveal", "revealing", "show", "showing"),
	folded(setPrompt, actSystem, "system"),
	exact(setPrompt, actSys, "SYS"),
	exact(setPrompt, actInst, "INST"),
)

// A prose word is a run of letters, digits, apostrophes and non-ASCII bytes
// other than white space.
func proseByte(c byte) bool { return isAlnum(c) || c == '\'' || c >= 0x80 }

// proseSpaceAt returns the length of the white space character at i, or 0:
// ASCII white space, or a Unicode space. NFKC turns most Unicode spaces
// into U+0020, but keeps U+0085, U+1680, U+2028 and U+2029, which would
// otherwise join two words into one ("ignore\u2028all previous
// instructions"); the others are here for text that was not normalised.
func proseSpaceAt(t string, i int) int {
	c := t[i]
	switch {
	case c < 0x80:
		if isSpace(c) {
			return 1
		}
	case c == 0xC2:
		if i+1 < len(t) && (t[i+1] == 0x85 || t[i+1] == 0xA0) { // U+0085, U+00A0
			return 2
		}
	case c == 0xE1:
		if strings.HasPrefix(t[i:], "\u1680") {
			return 3
		}
	case c == 0xE2:
		if i+2 < len(t) && (t[i+1] == 0x80 && (t[i+2] <= 0x8A || t[i+2] == 0xA8 || t[i+2] == 0xA9 || t[i+2] == 0xAF) ||
			t[i+1] == 0x81 && t[i+2] == 0x9F) { // U+2000–U+200A, U+2028, U+2029, U+202F, U+205F
			return 3
		}
	case c == 0xE3:
		if strings.HasPrefix(t[i:], "\u3000") {
			return 3
		}
	}
	return 0
}

// proseSpaceBefore returns the length of the white space character that
// ends at j, or 0.
func proseSpaceBefore(t string, j int) int {
	if t[j-1] < 0x80 {
		return proseSpaceAt(t, j-1)
	}
	for n := 2; n <= 3 && n <= j; n++ {
		if proseSpaceAt(t, j-n) == n {
			return n
		}
	}
	return 0
}

// nextWord returns the word after p (its first 64 bytes), skipping up to
// 64 bytes of white space, or ok false.
func nextWord(t string, p int) (ws, we int, ok bool) {
	i := p
	for i < len(t) && i-p <= 64 {
		n := proseSpaceAt(t, i)
		if n == 0 {
			break
		}
		i += n
	}
	if i-p > 64 || i >= len(t) || !proseByte(t[i]) {
		return 0, 0, false
	}
	j := i
	for j < len(t) && j-i < 64 && proseByte(t[j]) && (t[j] < 0x80 || proseSpaceAt(t, j) == 0) {
		j++
	}
	return i, j, true
}

// prevWord returns the word before p (the end of a word or white space).
func prevWord(t string, p int) (ws, we int, ok bool) {
	j := p
	for j > 0 && p-j <= 64 {
		n := proseSpaceBefore(t, j)
		if n == 0 {
			break
		}
		j -= n
	}
	if p-j > 64 || j == 0 || !proseByte(t[j-1]) {
		return 0, 0, false
	}
	i := j
	for i > 0 && j-i < 64 && proseByte(t[i-1]) && (t[i-1] < 0x80 || proseSpaceBefore(t, i) == 0) {
		i--
	}
	return i, j, true
}

var (
	// A strong qualifier makes any object an override ("ignore the above
	// rule"); a weak one only a plural object ("ignore all rules", not
	// "ignore any rule that starts with …").
	overrideQualifiers = []string{"previous", "prior", "above", "earlier", "preceding", "former", "original",
		"initial", "your", "system", "developer", "existing", "foregoing", "old"}
	weakQualifiers  = []string{"all", "any", "every", "other"}
	overrideFillers = []string{"the", "of", "my", "these", "those", "and", "about", "that", "you", "were",
		"given", "have", "been", "received", "safety"}
	overrideObjects = []string{"instructions", "instruction", "rules", "rule", "prompts", "prompt",
		"directions", "directives", "guidelines", "guidance", "commands", "context", "constraints",
		"restrictions", "messages", "orders", "policies", "programming", "training"}
	pluralObjects = []string{"instructions", "rules", "prompts", "directions", "directives", "guidelines",
		"commands", "constraints", "restrictions", "policies"}
)

// endQualifiers end an override phrase on their own at the end of a
// sentence: "disregard the above.", "ignore the previous!".
var endQualifiers = []string{"above", "previous", "prior", "earlier", "preceding", "foregoing"}

// overrideVocab is every word the override grammar reads, for gluedWord.
var overrideVocab = slices.Concat(overrideQualifiers, weakQualifiers, overrideFillers, overrideObjects,
	[]string{"everything", "anything", "what", "above", "earlier", "previously", "before", "told", "taught",
		"instructed", "following", "obeying", "no", "attention", "to", "you've", "was"})

// override matches ignore/disregard/forget/override [all] [the] previous
// instructions, ignore the instructions above, ignore everything above,
// disregard the above., forget everything you were told, stop following
// your instructions, pay no attention to your previous rules. Words may
// be glued together: once normalisation has removed the invisible
// characters between them ("ignore\u2060previous\u2060instructions"), a
// model still reads the words.
func (s *scanner) override(w, n int) {
	t := s.text
	p := w + n
	if !wordEnds(t, p) && !isLetter(t[p]) {
		return
	}
	switch {
	case hasPrefixFold(t[w:], "stop"):
		ws, we, ok := phraseWord(t, p)
		if !ok || !oneOfFold(t[ws:we], "following", "obeying") {
			return
		}
		p = we
	case hasPrefixFold(t[w:], "pay"):
		for _, want := range []string{"no", "attention", "to"} {
			ws, we, ok := phraseWord(t, p)
			if !ok || !equalFold(t[ws:we], want) {
				return
			}
			p = we
		}
	}
	strong, weak, all := false, false, false
	prev := ""
	for range 8 {
		ws, we, ok := phraseWord(t, p)
		if !ok {
			if oneOfFold(prev, endQualifiers...) && sentenceEnds(t, p) {
				s.add(kOverridePhrase, w, p)
			}
			return
		}
		word := t[ws:we]
		switch {
		case oneOfFold(word, overrideObjects...):
			if strong || (weak && oneOfFold(word, pluralObjects...)) {
				s.add(kOverridePhrase, w, we)
			} else if qs, qe, ok := phraseWord(t, we); ok && oneOfFold(t[qs:qe], "above", "before", "earlier", "previously") {
				s.add(kOverridePhrase, w, qe)
			}
			return
		case oneOfFold(prev, "everything", "anything") && oneOfFold(word, "above", "earlier", "previously"):
			s.add(kOverridePhrase, w, we)
			return
		case all && oneOfFold(word, "told", "taught", "instructed"):
			s.add(kOverridePhrase, w, we)
			return
		case oneOfFold(word, overrideQualifiers...):
			if oneOfFold(word, endQualifiers...) && sentenceEnds(t, we) {
				s.add(kOverridePhrase, w, we)
				return
			}
			strong = true
		case oneOfFold(word, weakQualifiers...):
			weak, all = true, true
		case oneOfFold(word, "everything", "anything", "what"):
			all = true
		case oneOfFold(word, overrideFillers...), oneOfFold(word, "you've", "was"):
		default:
			return
		}
		p, prev = we, word
	}
}

// sentenceEnds reports whether the text ends at p, or a sentence does: a
// full stop, ! or ;, after blanks.
func sentenceEnds(t string, p int) bool {
	p = skipBlanks(t, p)
	return p >= len(t) || strings.IndexByte(".!;", t[p]) >= 0
}

// phraseWord returns the word after p (see nextWord). Where words are glued
// together — at p a letter goes on from the previous word, or the next
// word is none that the grammar reads — it returns the longest word of
// overrideVocab that the text goes on with.
func phraseWord(t string, p int) (ws, we int, ok bool) {
	if p < len(t) && isLetter(t[p]) {
		return gluedWord(t, p)
	}
	ws, we, ok = nextWord(t, p)
	if !ok || oneOfFold(t[ws:we], overrideVocab...) {
		return ws, we, ok
	}
	if gs, ge, ok := gluedWord(t, ws); ok && ge < we {
		return gs, ge, true
	}
	return ws, we, true
}

// gluedWord returns the longest word of overrideVocab that begins at p
// and is followed by a letter (the next glued word) or ends the word.
func gluedWord(t string, p int) (int, int, bool) {
	best := 0
	for _, v := range overrideVocab {
		if len(v) > best && hasPrefixFold(t[p:], v) && (wordEnds(t, p+len(v)) || isLetter(t[p+len(v)])) {
			best = len(v)
		}
	}
	return p, p + best, best > 0
}

// newInstructions matches new/updated/revised [system] instructions:.
func (s *scanner) newInstructions(w, n int) {
	t := s.text
	if !wordEnds(t, w+n) {
		return
	}
	ws, we, ok := nextWord(t, w+n)
	if ok && equalFold(t[ws:we], "system") {
		ws, we, ok = nextWord(t, we)
	}
	if !ok || !oneOfFold(t[ws:we], "instructions", "instruction", "prompt", "rules", "directives", "orders") {
		return
	}
	p := skipBlanks(t, we)
	if p < len(t) && t[p] == ':' {
		s.add(kOverridePhrase, w, p+1)
	}
}

// important matches an <IMPORTANT> tag, and IMPORTANT: or IMPORTANT! (in
// capitals) followed in the same paragraph, within 200 bytes, by ignore,
// disregard or forget.
func (s *scanner) important(w int) {
	t := s.text
	e := w + len("important")
	if !wordEnds(t, e) || e >= len(t) {
		return
	}
	if w > 0 && (t[w-1] == '<' || (w > 1 && t[w-2:w] == "</")) && t[e] == '>' {
		start := w - 1
		if t[w-1] == '/' {
			start--
		}
		s.add(kRoleMarker, start, e+1)
		return
	}
	if t[w:e] != "IMPORTANT" || (t[e] != ':' && t[e] != '!') {
		return
	}
	limit := min(len(t), e+200)
	for p := e + 1; p < limit; {
		if t[p] == '\n' && p+1 < len(t) && t[p+1] == '\n' {
			return
		}
		if !isLetter(t[p]) || isLetter(t[p-1]) {
			p++
			continue
		}
		q := run(t, p, clsAlpha, 16)
		if oneOfFold(t[p:q], "ignore", "disregard", "forget") {
			s.add(kOverridePhrase, w, q)
			return
		}
		p = q
	}
}

var jailbreakWords = []string{"jailbroken", "jailbreak", "unrestricted", "unfiltered", "uncensored", "unbound", "unchained"}

// youAreNow matches "you are now" followed by a new role: jailbreak when
// the role is DAN, developer mode or unrestricted, role_reassignment when
// it is "a …" or "an …".
func (s *scanner) youAreNow(w int) {
	t := s.text
	if !wordEnds(t, w+3) {
		return
	}
	ws, we, ok := nextWord(t, w+3)
	if !ok || !equalFold(t[ws:we], "are") {
		return
	}
	if ws, we, ok = nextWord(t, we); !ok || !equalFold(t[ws:we], "now") {
		return
	}
	end := we
	if e, ok := jailbreakAhead(t, end, 4); ok {
		s.add(kJailbreak, w, e)
		return
	}
	if ws, we, ok = nextWord(t, end); ok && oneOfFold(t[ws:we], "a", "an", "no") {
		s.add(kRoleReassignment, w, we)
	}
}

// jailbreakAhead looks at the next n words after p for DAN, jailbroken,
// unrestricted or developer mode, and returns the end of what it found.
func jailbreakAhead(t string, p, n int) (int, bool) {
	prev := ""
	for range n {
		ws, we, ok := nextWord(t, p)
		if !ok {
			return 0, false
		}
		word := t[ws:we]
		if word == "DAN" || oneOfFold(word, jailbreakWords...) ||
			(equalFold(word, "mode") && oneOfFold(prev, "developer", "dan", "god", "jailbreak")) {
			return we, true
		}
		p, prev = we, word
	}
	return 0, false
}

// actAs matches act as / pretend to be … DAN, developer mode, jailbroken.
func (s *scanner) actAs(w, n int) {
	t := s.text
	if !wordEnds(t, w+n) {
		return
	}
	ws, we, ok := nextWord(t, w+n)
	if !ok || !oneOfFold(t[ws:we], "as", "to", "you're", "that") {
		return
	}
	if e, ok := jailbreakAhead(t, we, 6); ok {
		s.add(kJailbreak, w, e)
	}
}

// doAnythingNow matches "do anything now".
func (s *scanner) doAnythingNow(w int) {
	t := s.text
	e := w + len("anything")
	if !wordEnds(t, e) {
		return
	}
	ps, pe, ok := prevWord(t, w)
	if !ok || !equalFold(t[ps:pe], "do") {
		return
	}
	if ws, we, ok := nextWord(t, e); ok && equalFold(t[ws:we], "now") {
		s.add(kJailbreak, ps, we)
	}
}

// promptLeak matches reveal/show/print/repeat … your [system] prompt or
// instructions.
func (s *scanner) promptLeak(w, n int) {
	t := s.text
	if !wordEnds(t, w+n) {
		return
	}
	p := w + n
	owned := false
	for range 5 {
		ws, we, ok := nextWord(t, p)
		if !ok {
			return
		}
		word := t[ws:we]
		switch {
		case oneOfFold(word, "prompt", "prompts", "instructions"):
			if owned {
				s.add(kPromptLeak, w, we)
			}
			return
		case oneOfFold(word, "your", "system", "initial", "original", "hidden", "secret", "full", "entire"):
			owned = true
		case oneOfFold(word, "me", "us", "the", "all", "of", "exact", "complete"):
		default:
			return
		}
		p = we
	}
}

// concealment matches do not / don't / never / without + tell, mention,
// inform … [this] [to] the user.
func (s *scanner) concealment(w, n int) {
	t := s.text
	if !wordEnds(t, w+n) {
		return
	}
	ps, pe, ok := prevWord(t, w)
	if !ok {
		return
	}
	neg := t[ps:pe]
	if !oneOfFold(neg, "not", "never", "without", "dont") && !hasSuffixFold(neg, "n't") && !strings.HasSuffix(neg, "n’t") {
		return
	}
	if equalFold(neg, "not") {
		if qs, qe, ok := prevWord(t, ps); ok && oneOfFold(t[qs:qe], "do", "does", "must", "should", "will", "shall", "can", "may") {
			ps = qs
		}
	}
	p := w + n
	for range 5 {
		ws, we, ok := nextWord(t, p)
		if !ok {
			return
		}
		word := t[ws:we]
		switch {
		case oneOfFold(word, "user", "users", "human", "person", "operator"):
			s.add(kConcealment, ps, we)
			return
		case oneOfFold(word, "the", "your", "this", "that", "it", "anything", "about", "to", "of", "any"):
		default:
			return
		}
		p = we
	}
}

// system matches the role markers <system>, </system> and a mention of the
// system prompt.
func (s *scanner) system(w int) {
	t := s.text
	e := w + len("system")
	if !wordEnds(t, e) {
		return
	}
	if e < len(t) && t[e] == '>' && w > 0 && t[w-1] == '<' {
		s.add(kRoleMarker, w-1, e+1)
		return
	}
	if e < len(t) && t[e] == '>' && w > 1 && t[w-2:w] == "</" {
		s.add(kRoleMarker, w-2, e+1)
		return
	}
	if ws, we, ok := nextWord(t, e); ok && oneOfFold(t[ws:we], "prompt", "prompts") {
		s.add(kSystemPrompt, w, we)
	}
}

// sysMarker matches <<SYS>> and <</SYS>>.
func (s *scanner) sysMarker(w int) {
	t := s.text
	e := w + 3
	if !strings.HasPrefix(t[e:], ">>") {
		return
	}
	switch {
	case w >= 3 && t[w-3:w] == "<</":
		s.add(kRoleMarker, w-3, e+2)
	case w >= 2 && t[w-2:w] == "<<":
		s.add(kRoleMarker, w-2, e+2)
	}
}

// instMarker matches [INST] and [/INST].
func (s *scanner) instMarker(w int) {
	t := s.text
	e := w + 4
	if e >= len(t) || t[e] != ']' {
		return
	}
	switch {
	case w >= 2 && t[w-2:w] == "[/":
		s.add(kRoleMarker, w-2, e+1)
	case w >= 1 && t[w-1] == '[':
		s.add(kRoleMarker, w-1, e+1)
	}
}

// pipeMarker matches a chat-template special token such as <|im_start|>.
func (s *scanner) pipeMarker(i int) {
	t := s.text
	if i+2 >= len(t) || t[i+1] != '|' {
		return
	}
	e := run(t, i+2, clsAlnum|clsUnder, 33)
	if e == i+2 || e-i-2 > 32 || !strings.HasPrefix(t[e:], "|>") {
		return
	}
	s.add(kRoleMarker, i, e+2)
}

// tagCharacters matches a run of Unicode tag characters (U+E0000–U+E007F,
// F3 A0 80 80 – F3 A0 81 BF) starting at i, and returns the offset to go on
// from.
func (s *scanner) tagCharacters(i int) int {
	t := s.text
	j := i
	for j+4 <= len(t) && t[j] == 0xF3 && t[j+1] == 0xA0 && (t[j+2] == 0x80 || t[j+2] == 0x81) && t[j+3]&0xC0 == 0x80 {
		j += 4
	}
	if j > i {
		s.add(kTagCharacters, i, j)
		return j - 1
	}
	return i
}

// bidiControls matches a run of bidirectional controls (U+202A–U+202E,
// E2 80 AA–AE; U+2066–U+2069, E2 81 A6–A9) starting at i.
func (s *scanner) bidiControls(i int) int {
	t := s.text
	j := i
	for j+3 <= len(t) && t[j] == 0xE2 &&
		((t[j+1] == 0x80 && t[j+2] >= 0xAA && t[j+2] <= 0xAE) || (t[j+1] == 0x81 && t[j+2] >= 0xA6 && t[j+2] <= 0xA9)) {
		j += 3
	}
	if j > i {
		s.add(kBidiControl, i, j)
		return j - 1
	}
	return i
}
