package detect

import "strings"

// The pii detector: e-mail addresses, social security numbers, payment
// cards, phone numbers and IBANs.
//
// Rules that decide the hard cases:
// A card number is 13 to 16 digits in one run, or 13 to 19 digits in groups
// (the first of four) separated by single spaces or dashes; it must pass
// Luhn and start with a known issuer prefix, so a 16-digit number that
// fails Luhn, a longer digit run or an int64 constant is not one. A phone
// needs a + (E.164) or the North American 3-3-4 grouping with separators,
// so dates, versions and IP addresses are not phones.

// fileExtensions are the TLD-like endings of file names (logo@2x.png).
var fileExtensions = []string{"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "js", "ts", "css", "html", "json", "md", "txt", "go", "py"}

// email matches an e-mail address around the '@' at at.
func (s *scanner) email(at int) {
	t := s.text
	b := at
	for b > 0 && at-b <= 64 && (isAlnum(t[b-1]) || strings.IndexByte("._%+-", t[b-1]) >= 0) {
		b--
	}
	if b == at || at-b > 64 || t[b] == '.' || t[at-1] == '.' {
		return
	}
	if b > 0 && t[b-1] == ':' && !strings.HasSuffix(t[:b], "mailto:") {
		return // user info of a URL, or a scp-like user@host:path
	}
	// Domain: labels of letters, digits and hyphens, at least two, the last
	// (the TLD) of letters only.
	e := at + 1
	lastDot := -1
	for e < len(t) && e-at <= 253 {
		c := t[e]
		if isAlnum(c) || c == '-' {
			e++
			continue
		}
		if c == '.' && e+1 < len(t) && isAlnum(t[e+1]) && t[e-1] != '.' && t[e-1] != '@' {
			lastDot = e
			e++
			continue
		}
		break
	}
	if lastDot < 0 || t[at+1] == '-' {
		return
	}
	tld := t[lastDot+1 : e]
	if len(tld) < 2 || run(tld, 0, clsAlpha, 64) != len(tld) {
		return
	}
	for _, x := range fileExtensions {
		if equalFold(tld, x) {
			return
		}
	}
	if e < len(t) && t[e] == ':' && e+1 < len(t) && !isSpace(t[e+1]) {
		return // git@github.com:org/repo
	}
	s.add(kEmail, b, e)
}

// numbers examines the candidates for a card, SSN, phone or IBAN that can
// touch the digit-dense stretch [lo, hi).
func (s *scanner) numbers(lo, hi int) {
	t := s.text
	lo = max(lo, s.numNext, 0)
	b := lo
	for b > s.numNext && lo-b < 40 && numberish(t[b-1]) {
		b--
	}
	p := b
	for p < hi {
		if e := s.numberAt(p); e > p {
			p = e
			continue
		}
		p++
	}
	s.numNext = max(s.numNext, p)
}

func numberish(c byte) bool {
	return isDigit(c) || c-'A' < 26 || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+'
}

// numberAt matches a number-shaped finding starting at p and returns its
// end, or p.
func (s *scanner) numberAt(p int) int {
	t := s.text
	var prev byte
	if p > 0 {
		prev = t[p-1]
	}
	if isAlnum(prev) || prev == '_' {
		return p
	}
	c := t[p]
	switch {
	case c-'A' < 26:
		if e := iban(t, p); e > p {
			s.add(kIBAN, p, e)
			return e
		}
	case c == '+':
		if prev == '+' {
			return p
		}
		if e := e164(t, p); e > p {
			s.add(kPhone, p, e)
			return e
		}
	case c == '(':
		if e := nanp(t, p); e > p {
			s.add(kPhone, p, e)
			return e
		}
	case isDigit(c):
		if prev == '.' || prev == '-' || prev == '+' || prev == '/' || prev == ',' {
			return p
		}
		if e := ssn(t, p); e > p {
			s.add(kSSN, p, e)
			return e
		}
		if e := card(t, p); e > p {
			s.add(kCardNumber, p, e)
			return e
		}
		if e := nanp(t, p); e > p {
			s.add(kPhone, p, e)
			return e
		}
		// Skip the rest of this digit run: no candidate starts inside it.
		return run(t, p, clsDigit, 64)
	}
	return p
}

// numberEnds reports whether a number may end at e: no letter, digit or
// underscore follows, nor a '.', '-' or '/' that goes on with a digit.
func numberEnds(t string, e int) bool {
	if e >= len(t) {
		return true
	}
	c := t[e]
	if isIdent(c) {
		return false
	}
	if (c == '.' || c == '-' || c == '/') && e+1 < len(t) && isDigit(t[e+1]) {
		return false
	}
	return true
}

// digitsAt reports whether t[i:i+n] are n digits.
func digitsAt(t string, i, n int) bool {
	if i < 0 || i+n > len(t) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(t[k]) {
			return false
		}
	}
	return true
}

func atoi(t string) int {
	n := 0
	for i := 0; i < len(t); i++ {
		n = n*10 + int(t[i]-'0')
	}
	return n
}

// ssn matches ddd-dd-dddd with a valid area (not 000, 666 or 9xx), group
// (not 00) and serial (not 0000).
func ssn(t string, p int) int {
	if !digitsAt(t, p, 3) || p+11 > len(t) || t[p+3] != '-' || !digitsAt(t, p+4, 2) || t[p+6] != '-' || !digitsAt(t, p+7, 4) {
		return p
	}
	area, group, serial := atoi(t[p:p+3]), atoi(t[p+4:p+6]), atoi(t[p+7:p+11])
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 || !numberEnds(t, p+11) {
		return p
	}
	return p + 11
}

// card matches a payment card number at p: 13 to 19 digits, in one run or
// in groups (the first of four digits) separated by single spaces or
// dashes, that pass the Luhn check and start with a known issuer prefix.
// When the groups go on past a valid card (a CVV after it), the card
// without the trailing groups counts.
func card(t string, p int) int {
	var digits [19]byte
	var ends, counts [6]int
	n, groups := 0, 0
	var sep byte
	for i := p; ; {
		e := run(t, i, clsDigit, 20)
		size := e - i
		if groups == 0 {
			if size > 16 || (size != 4 && size < 13) {
				return p // an unseparated card has 13 to 16 digits: more is a number
			}
		} else if size < 3 || size > 6 || n+size > 19 {
			break
		}
		copy(digits[n:], t[i:e])
		n += size
		ends[groups], counts[groups] = e, n
		groups++
		if groups == len(ends) || size >= 13 || e+1 >= len(t) || (t[e] != ' ' && t[e] != '-') ||
			!isDigit(t[e+1]) || (sep != 0 && t[e] != sep) {
			break
		}
		sep, i = t[e], e+1
	}
	for g := groups - 1; g >= 0; g-- {
		end, cnt := ends[g], counts[g]
		if cnt < 13 || (g < groups-1 && sep != ' ') {
			break // too short, or a tail that is not a space-separated extra
		}
		if (g == groups-1 && !numberEnds(t, end)) || !luhn(digits[:cnt]) || !issuer(digits[:cnt]) {
			continue
		}
		return end
	}
	return p
}

func luhn(d []byte) bool {
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// issuer reports whether the digits start with a known card issuer's prefix
// and have a length that issuer uses.
func issuer(d []byte) bool {
	n := len(d)
	p2 := atoi(string(d[:2]))
	p3 := atoi(string(d[:3]))
	p4 := atoi(string(d[:4]))
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65: // Discover
		return n >= 16
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		return n >= 14
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p2 == 62: // UnionPay
		return n >= 16
	case p4 == 5018, p4 == 5020, p4 == 5038, p4 == 5893, p4 == 6304, p4 == 6759, p4 == 6761, p4 == 6762, p4 == 6763: // Maestro
		return n >= 13
	}
	return false
}

// e164 matches + and 10 to 15 digits, possibly in groups separated by
// single spaces, dashes or dots, or with an area code in parentheses.
// When the groups go on past a valid number (over 15 digits, or into
// something that is not a number's end), the number up to the first space
// at which it was valid counts: +14155550100 2024-01-01 is a phone and a
// date. A number one of whose groups after a space or a parenthesis
// starts a card or an SSN is no phone, so that the card or SSN is found:
// +1 4111 1111 1111 1111, +1 123-45-6789.
func e164(t string, p int) int {
	i := p + 1
	if i >= len(t) || !isDigit(t[i]) || t[i] == '0' {
		return p
	}
	// short is the end of the number at the first space at which it was
	// valid; starts are where its groups start.
	var starts [16]int
	n, end, short, groups := 0, p, p, 0
	for {
		e := run(t, i, clsDigit, 16)
		starts[groups], groups = i, groups+1
		n += e - i
		if end = e; n > 15 {
			return e164End(t, p, short, starts[:groups])
		}
		// Up to two separators before the next group: " ", "-", ".", " (", ") ".
		k := e
		for k < len(t) && k-e < 2 && strings.IndexByte(" -.()", t[k]) >= 0 {
			k++
		}
		if k == e || k >= len(t) || !isDigit(t[k]) {
			break
		}
		if t[e] == ' ' && n >= 10 && short == p {
			short = e
		}
		i = k
	}
	if n < 10 || !numberEnds(t, end) {
		return e164End(t, p, short, starts[:groups])
	}
	return e164End(t, p, end, starts[:groups])
}

// e164End returns end, where the phone at p whose groups start at starts
// ends, or p (no phone) when one of its groups before end starts, after a
// space or a parenthesis (where a number may start), a card or an SSN.
func e164End(t string, p, end int, starts []int) int {
	for _, gs := range starts[1:] {
		if gs >= end {
			break
		}
		if strings.IndexByte(" ()", t[gs-1]) >= 0 && (card(t, gs) > gs || ssn(t, gs) > gs) {
			return p
		}
	}
	return end
}

// nanp matches a North American number: [1 ](555) 123-4567, 555-123-4567,
// 555.123.4567, 555 123 4567, 1-555-123-4567. The area code starts 2–9;
// without parentheses both separators are needed and alike.
func nanp(t string, p int) int {
	i := p
	if t[i] == '1' && i+1 < len(t) && (t[i+1] == '-' || t[i+1] == ' ' || t[i+1] == '.') && i+2 < len(t) && (t[i+2] == '(' || isDigit(t[i+2])) {
		i += 2
	}
	var sep byte
	switch {
	case i < len(t) && t[i] == '(':
		if !digitsAt(t, i+1, 3) || i+4 >= len(t) || t[i+4] != ')' || t[i+1] < '2' {
			return p
		}
		i += 5
		if i < len(t) && t[i] == ' ' {
			i++
		}
	case digitsAt(t, i, 3) && i+3 < len(t) && strings.IndexByte("-. ", t[i+3]) >= 0:
		if t[i] < '2' {
			return p
		}
		sep = t[i+3]
		i += 4
	default:
		return p
	}
	if !digitsAt(t, i, 3) || i+3 >= len(t) {
		return p
	}
	if c := t[i+3]; c != '-' && c != '.' && c != ' ' || (sep != 0 && c != sep) {
		return p
	}
	i += 4
	if !digitsAt(t, i, 4) || !numberEnds(t, i+4) {
		return p
	}
	return i + 4
}

// iban matches two upper-case letters, two check digits and 11 to 30
// upper-case letters and digits, in one run or in groups of four separated
// by single spaces, passing the mod-97 check. Trailing groups that break
// the check are dropped.
func iban(t string, p int) int {
	if p+4 > len(t) || t[p+1]-'A' >= 26 || !digitsAt(t, p+2, 2) {
		return p
	}
	var chars [34]byte
	var ends [9]int
	var counts [9]int
	n, groups := 0, 0
	i := p
	for groups < len(ends) {
		e := run(t, i, clsUpper|clsDigit, 35)
		if n+(e-i) > 34 || e == i {
			break
		}
		for k := i; k < e; k++ {
			chars[n] = t[k]
			n++
		}
		ends[groups], counts[groups] = e, n
		groups++
		if e-i != 4 || e+1 >= len(t) || t[e] != ' ' || !is(t[e+1], clsUpper|clsDigit) {
			break
		}
		i = e + 1
	}
	// The check rearranges the IBAN as BBAN, country, check digits: keep
	// the BBAN's value mod 97 for every length, and that of the first four
	// (six digits once the letters are numbers).
	var bban [35]int
	for k := 4; k < n; k++ {
		bban[k+1] = mod97Step(bban[k], chars[k])
	}
	head := 0
	for _, c := range chars[:4] {
		head = mod97Step(head, c)
	}
	for g := groups - 1; g >= 0; g-- {
		end, cnt := ends[g], counts[g]
		if cnt < 15 {
			break
		}
		if end < len(t) && isAlnum(t[end]) {
			continue
		}
		if (bban[cnt]*1_000_000+head)%97 == 1 {
			return end
		}
	}
	return p
}

// mod97Step appends the IBAN character c (a digit, or a letter as 10..35)
// to the number whose remainder mod 97 is m.
func mod97Step(m int, c byte) int {
	if isDigit(c) {
		return (m*10 + int(c-'0')) % 97
	}
	return (m*100 + int(c-'A'+10)) % 97
}
