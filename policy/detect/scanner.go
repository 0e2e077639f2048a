package detect

import (
	"math/bits"
	"slices"
	"strings"
)

// scanner is one run of the detectors over one text.
//
// The text is walked once, eight bytes at a time, to find the starts of
// words (and the digit-dense stretches and ".." pairs); a word that may
// begin a trigger word is handed to that trigger's matcher.
// Everything else is found from a rare byte located with strings.IndexByte
// ('@', '$', '`', '|', '%', '<', 0xE2, 0xF3). A matcher looks only at a
// small window around its trigger, so a clean text costs one pass and a
// few vectorised searches.
type scanner struct {
	text string
	want threatSet
	out  []Finding

	// Offsets before which a matcher has already looked, so that no byte
	// is looked at again and again.
	numNext    int // pii: number candidates
	dotNext    int // path_traversal: ".." runs
	pctNext    int // path_traversal: encoded ../
	labelNext  int // secret: the value of the last labelled assignment
	dollarNext int // shell_injection: the last $(…)
	pemNext    int // secret: the last private key block

	// The line of the last backtick: where it starts, how far it is known
	// to go, and whether it reads as shell (0 unknown, 1 yes, -1 no).
	tickLine, tickSeen int
	tickShell          int8

	// shellFold: a command's name in capitals (RM, Curl), or after a
	// quote, a backslash or a brace, was seen: the shell view (fold.go)
	// may read it otherwise.
	shellFold bool
	// nonASCII: the text holds a byte that is not ASCII.
	nonASCII bool

	sh  shellLexer
	sql sqlStatement
}

func appendFindings(dst []Finding, text string, want threatSet) []Finding {
	if want == 0 || text == "" {
		return dst
	}
	return scanFindings(dst, text, want, startBytesIn(text))
}

// scanFindings is appendFindings told which start bytes text may hold: the
// search for a byte whose bit is clear in has is skipped.
func scanFindings(dst []Finding, text string, want threatSet, has uint8) []Finding {
	return scan(dst, text, want, has, true)
}

// scan is scanFindings, which also scans the folded views of the text
// when fold is set (fold.go); a view is not folded again.
func scan(dst []Finding, text string, want threatSet, has uint8, fold bool) []Finding {
	s := scanner{text: text, want: want, out: dst}
	s.sh.reset(0)
	s.scanWords()
	s.scanBytes(has)
	if want&setPath != 0 {
		s.sensitivePaths(len(dst))
	}
	if fold {
		s.scanFolded()
	}
	if n := len(dst); len(s.out)-n > 1 {
		kept := tidy(s.out[n:])
		s.out = s.out[:n+len(kept)]
	}
	return s.out
}

func (s *scanner) add(k kind, start, end int) {
	if start < 0 || end > len(s.text) || start >= end {
		return
	}
	info := &kinds[k]
	s.out = append(s.out, Finding{Threat: info.Threat, Kind: info.Kind, Severity: info.Severity, Start: start, End: end})
}

// tidy orders findings by Start (then End, then Kind) and drops a finding
// whose span equals that of another finding of the same threat, keeping the
// more severe: "token=ghp_…" is a github_token, not also a
// credential_assignment.
func tidy(f []Finding) []Finding {
	slices.SortFunc(f, func(a, b Finding) int {
		switch {
		case a.Start != b.Start:
			return a.Start - b.Start
		case a.End != b.End:
			return a.End - b.End
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	out := f[:0]
next:
	for _, x := range f {
		for j := len(out) - 1; j >= 0 && out[j].Start == x.Start && out[j].End == x.End; j-- {
			if out[j].Threat == x.Threat {
				if x.Severity > out[j].Severity {
					out[j] = x
				}
				continue next
			}
		}
		out = append(out, x)
	}
	return out
}

// ---- The word pass -------------------------------------------------------

// Bytes of eight, for SWAR ("SIMD within a register") tests of eight text
// bytes at once.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	lows  = 0x7f7f7f7f7f7f7f7f
)

// inRange sets the high bit of each byte of x that is in [lo, hi] (ASCII)
// and clears every other bit.
func inRange(x uint64, lo, hi byte) uint64 {
	t := x & lows
	a := t + (0x80-uint64(lo))*ones
	b := t + (0x7f-uint64(hi))*ones
	return (a &^ b) &^ x & highs
}

func le64(b string) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func partial64(b string) uint64 {
	var x uint64
	for i := len(b) - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x
}

// scanWords walks the text eight bytes at a time. It hands every word start
// (an ASCII letter after a non-letter, or an upper-case letter after a
// lower-case one) whose first four bytes hash into triggerBloom to word,
// every stretch of 16 bytes holding 7 digits or more to numbers, and every
// ".." to dotdot.
func (s *scanner) scanWords() {
	t := s.text
	pii, path := s.want&setPII != 0, s.want&setPath != 0
	var prevLetters, prevLower, prevDots, all uint64
	prevDigits := 0
	x := load8(t, 0)
	letters := letterMask(x)
	for i := 0; i < len(t); i += 8 {
		// The next block too: a word's first bytes may run into it.
		xn := load8(t, i+8)
		lettersN := letterMask(xn)
		lower := letters & (x << 2) // bit 5 set: lower case
		starts := letters&^(letters<<8|prevLetters>>56) | (letters&^lower)&(lower<<8|prevLower>>56)
		starts &= letters>>8 | lettersN<<56 // every trigger word starts with two letters
		for starts != 0 {
			shift := uint(bits.TrailingZeros64(starts)) &^ 7
			starts &= starts - 1
			head := x>>shift | xn<<(64-shift)
			lm := letters>>shift | lettersN<<(64-shift)
			if h := wordHash(head, lm); triggerBloom[h>>6]&(1<<(h&63)) != 0 {
				w := i + int(shift>>3)
				k := prefixKey(t[w], t[w+1])
				s.word(w, triggers[prefixStart[k]:prefixStart[k+1]])
			}
		}
		if pii {
			d := bits.OnesCount64(inRange(x, '0', '9'))
			if d+prevDigits >= 7 {
				s.numbers(i-8, min(i+8, len(t)))
			}
			prevDigits = d
		}
		all |= x
		if path {
			dots := inRange(x, '.', '.')
			pairs := dots & (dots<<8 | prevDots>>56)
			prevDots = dots
			for pairs != 0 {
				p := i + bits.TrailingZeros64(pairs)>>3 - 1
				pairs &= pairs - 1
				s.dotdot(p)
			}
		}
		prevLetters, prevLower = letters, lower
		x, letters = xn, lettersN
	}
	s.nonASCII = all&highs != 0
}

// load8 returns the eight bytes of t at i, little-endian, zero past the
// end.
func load8(t string, i int) uint64 {
	if i+8 <= len(t) {
		return le64(t[i : i+8])
	}
	if i >= len(t) {
		return 0
	}
	return partial64(t[i:])
}

// letterMask sets the high bit of each byte of x that is an ASCII letter.
func letterMask(x uint64) uint64 {
	return inRange(x|0x20*ones, 'a', 'z')
}

// action says which matcher a trigger word starts.
type action uint8

const (
	actToken action = iota
	actOpenAI
	actJWT
	actSlackHook
	actPEM
	actLabel

	actOverride
	actNewInstructions
	actImportant
	actYou
	actActAs
	actAnything
	actLeak
	actConceal
	actSystem
	actSys
	actInst

	actCommand
	actDev

	actEtc
	actSSH
	actIDKey
	actProc
	actAWSDir
	actWindows

	actSQL
)

// A trigger is a word that starts a matcher when a word of the text begins
// with it.
type trigger struct {
	word string
	fold bool // match ASCII case-insensitively; word is lower case
	set  threatSet
	act  action
	// For actToken: the kind, the class of the token's body, its length
	// bounds and whether it must hold a digit.
	kind      kind
	body      uint8
	min, max  int
	needDigit bool
}

func tok(word string, k kind, body uint8, min, max int, needDigit bool) trigger {
	return trigger{word: word, set: setSecret, act: actToken, kind: k, body: body, min: min, max: max, needDigit: needDigit}
}

func exact(set threatSet, act action, words ...string) []trigger {
	ts := make([]trigger, len(words))
	for i, w := range words {
		ts[i] = trigger{word: w, set: set, act: act}
	}
	return ts
}

func folded(set threatSet, act action, words ...string) []trigger {
	ts := exact(set, act, words...)
	for i := range ts {
		ts[i].fold = true
	}
	return ts
}

// triggers, sorted at init by prefixKey; prefixStart[k]:prefixStart[k+1] are
// the triggers whose first two letters have key k. triggerBloom holds the
// wordHash of every trigger word: a word whose hash is not in it starts no
// trigger, which spares most words a look at the candidates.
var (
	triggers     []trigger
	prefixStart  [26*26 + 2]uint8
	triggerBloom [1 << 15 / 64]uint64
)

// wordHash hashes the first four bytes of a word (head, little-endian,
// with letters its letterMask): its letters up to the first non-letter,
// folded to lower case.
func wordHash(head, letters uint64) uint32 {
	other := ^letters&0x80808080 | 1<<39 // the first non-letter, or past the fourth byte
	key := uint32((head | 0x20202020) & ((other&-other)>>7 - 1))
	return key * 0x9e3779b1 >> (32 - 15)
}

func addToBloom(head uint64) {
	h := wordHash(head, letterMask(head))
	triggerBloom[h>>6] |= 1 << (h & 63)
}

// prefixKey maps the first two bytes of a word (a is a letter) to 0..675,
// or to 676 (no trigger) when b is not a letter.
func prefixKey(a, b byte) int {
	fa, fb := (a|0x20)-'a', (b|0x20)-'a'
	if fb >= 26 {
		return 26 * 26
	}
	return int(fa)*26 + int(fb)
}

func init() {
	triggers = slices.Concat(secretTriggers, promptTriggers, shellTriggers, pathTriggers, sqlTriggers)
	if len(triggers) > 255 {
		panic("detect: too many trigger words")
	}
	key := func(t trigger) int { return prefixKey(t.word[0], t.word[1]) }
	slices.SortStableFunc(triggers, func(a, b trigger) int { return key(a) - key(b) })
	for i, t := range triggers {
		if k := key(t); k < 26*26 {
			prefixStart[k+1] = uint8(i + 1)
		} else {
			panic("detect: trigger word " + t.word + " does not start with two letters")
		}
	}
	for k := 1; k < len(prefixStart); k++ {
		prefixStart[k] = max(prefixStart[k], prefixStart[k-1])
	}
	for _, t := range triggers {
		head := partial64(t.word[:min(4, len(t.word))])
		addToBloom(head)
		if t.act == actJWT {
			// eyJ goes on with base64: add every fourth letter.
			for c := uint64('a'); c <= 'z'; c++ {
				addToBloom(head | c<<24)
			}
		}
	}
}

// word runs the triggers that the word at w begins with.
func (s *scanner) word(w int, cands []trigger) {
	t := s.text[w:]
	for i := range cands {
		tr := &cands[i]
		if s.want&tr.set == 0 || len(t) < len(tr.word) {
			continue
		}
		if tr.fold {
			if !hasPrefixFold(t, tr.word) {
				continue
			}
		} else if t[:len(tr.word)] != tr.word {
			if tr.act == actCommand && !s.shellFold && hasPrefixFold(t, tr.word) && wordEnds(t, len(tr.word)) {
				s.shellFold = true // RM, Curl
			}
			continue
		}
		if tr.act == actCommand && (w > 0 && strings.IndexByte("'\"\\{", s.text[w-1]) >= 0 ||
			len(t) > len(tr.word) && strings.IndexByte("'\"\\", t[len(tr.word)]) >= 0) {
			s.shellFold = true // 'rm', "rm", \rm, {rm,-rf,/}, python\3
		}
		s.fire(tr, w)
	}
}

func (s *scanner) fire(tr *trigger, w int) {
	n := len(tr.word)
	switch tr.act {
	case actToken:
		s.token(tr, w)
	case actOpenAI:
		s.openAI(w)
	case actJWT:
		s.jwt(w)
	case actSlackHook:
		s.slackHook(w)
	case actPEM:
		s.pem(w)
	case actLabel:
		s.label(w, tr.word)
	case actOverride:
		s.override(w, n)
	case actNewInstructions:
		s.newInstructions(w, n)
	case actImportant:
		s.important(w)
	case actYou:
		s.youAreNow(w)
	case actActAs:
		s.actAs(w, n)
	case actAnything:
		s.doAnythingNow(w)
	case actLeak:
		s.promptLeak(w, n)
	case actConceal:
		s.concealment(w, n)
	case actSystem:
		s.system(w)
	case actSys:
		s.sysMarker(w)
	case actInst:
		s.instMarker(w)
	case actCommand:
		s.command(w, tr.word)
	case actDev:
		s.dev(w)
	case actEtc, actSSH, actIDKey, actProc, actAWSDir, actWindows:
		s.sensitiveFile(tr.act, w)
	case actSQL:
		s.sqlKeyword(w, tr.word)
	}
}

// ---- The byte searches ---------------------------------------------------

// scanBytes runs the detectors that start from a rare byte.
// has holds a bit for each start byte t may hold (see startBytesIn).
func (s *scanner) scanBytes(has uint8) {
	t := s.text
	if s.want&(setSecret|setPII) != 0 && has&startAt != 0 {
		for i := indexByte(t, 0, '@'); i >= 0; i = indexByte(t, i+1, '@') {
			s.atSign(i)
		}
	}
	if s.want&setShell != 0 {
		if has&startDollar != 0 {
			for i := indexByte(t, 0, '$'); i >= 0; i = indexByte(t, i+1, '$') {
				s.dollarParen(i)
			}
		}
		if has&startTick != 0 {
			for i := indexByte(t, 0, '`'); i >= 0; i = indexByte(t, i+1, '`') {
				i = s.backtick(i)
			}
		}
		if has&startPipe != 0 {
			for i := indexByte(t, 0, '|'); i >= 0; i = indexByte(t, i+1, '|') {
				s.forkBomb(i)
			}
		}
	}
	if s.want&setPath != 0 && has&startPercent != 0 {
		for i := indexByte(t, 0, '%'); i >= 0; i = indexByte(t, i+1, '%') {
			s.encodedDotDot(i)
		}
	}
	if s.want&setPrompt != 0 {
		if has&startLess != 0 {
			for i := indexByte(t, 0, '<'); i >= 0; i = indexByte(t, i+1, '<') {
				s.pipeMarker(i)
			}
		}
		if has&startF3 != 0 {
			for i := indexByte(t, 0, 0xF3); i >= 0; i = indexByte(t, i+1, 0xF3) {
				i = s.tagCharacters(i)
			}
		}
		if has&startE2 != 0 {
			for i := indexByte(t, 0, 0xE2); i >= 0; i = indexByte(t, i+1, 0xE2) {
				i = s.bidiControls(i)
			}
		}
	}
}

// The bytes scanBytes starts from, one bit each.
const (
	startAt uint8 = 1 << iota
	startDollar
	startTick
	startPipe
	startPercent
	startLess
	startF3
	startE2
)

// startByte maps each byte scanBytes starts from to its bit.
var startByte = func() (t [256]uint8) {
	t['@'], t['$'], t['`'], t['|'], t['%'], t['<'], t[0xF3], t[0xE2] = startAt, startDollar, startTick, startPipe, startPercent, startLess, startF3, startE2
	return t
}()

// shortText is the length up to which one pass over a text, looking up
// each byte, is cheaper than a vectorised search for each start byte.
const shortText = 96

// startBytesIn returns the start bytes a short text holds (every bit for
// a longer one, whose searches are cheap enough per byte).
func startBytesIn(t string) uint8 {
	if len(t) > shortText {
		return 0xff
	}
	var has uint8
	for i := 0; i < len(t); i++ {
		has |= startByte[t[i]]
	}
	return has
}

// indexByte is strings.IndexByte(t[from:], c) as an offset in t, or -1.
func indexByte(t string, from int, c byte) int {
	if from >= len(t) {
		return -1
	}
	if i := strings.IndexByte(t[from:], c); i >= 0 {
		return from + i
	}
	return -1
}
