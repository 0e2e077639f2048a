package llmjudge

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxHostBytes bounds a host name: DNS allows 253 bytes.
const maxHostBytes = 253

// host is a destination named in a value of the arguments: the host of a
// URL, the domain of an e-mail address, or a value that is a host name.
type host struct {
	// written is the name as the arguments write it, lower-cased.
	written string
	// ascii is its ASCII form: every label with letters beyond ASCII in
	// punycode (xn--…).
	ascii string
	// display is its Unicode form: every xn-- label decoded.
	display string
	// scripts are the scripts of a label's letters when one label mixes
	// more than one ("Latin and Cyrillic"); empty when none does.
	scripts string
	// email says it is the domain of an e-mail address.
	email bool
}

// idn reports whether the name is written with letters beyond ASCII or
// holds a punycode label.
func (h host) idn() bool { return h.ascii != h.display || h.written != h.ascii }

// hostWords are the parts of argument names that say the value is a
// host or an address: only such a value is read as a bare host name
// ("notes.txt" in a field named path is not one).
var hostWords = []string{"host", "domain", "server", "url", "uri", "endpoint", "address", "addr", "recipient", "email", "mail", "site", "origin", "remote", "webhook", "dns"}

// hostPath reports whether the last key of path names a host or an
// address (or is to, cc or bcc).
func hostPath(path string) bool {
	p := strings.ToLower(lastKey(path))
	if p == "to" || p == "cc" || p == "bcc" || p == "from" {
		return true
	}
	for _, w := range hostWords {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

// findHosts returns the hosts named in s, each once, at most limit;
// bare says that s itself may be a host name (its field is named so).
func findHosts(s string, bare bool, limit int) []host {
	var out []host
	seen := map[string]bool{}
	add := func(name string, email bool) {
		h, ok := parseHost(name)
		if !ok || seen[h.ascii] || len(out) >= limit {
			return
		}
		seen[h.ascii] = true
		h.email = email
		out = append(out, h)
	}
	if t := strings.TrimSpace(s); bare && !strings.ContainsAny(t, " /@") {
		if name, _, ok := splitPort(t); ok && strings.Contains(name, ".") {
			add(name, false) // the value is a host name
		}
	}
	for i := 0; i < len(s) && len(out) < limit; {
		j := strings.Index(s[i:], "://")
		if j < 0 {
			break
		}
		start := i + j + 3
		end := start + hostRun(s[start:], true)
		auth := s[start:end]
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			auth = auth[at+1:]
		}
		if name, _, ok := splitPort(auth); ok {
			add(name, false)
		}
		i = max(end, start)
	}
	for i := 0; i < len(s) && len(out) < limit; {
		j := strings.IndexByte(s[i:], '@')
		if j < 0 {
			break
		}
		at := i + j
		if at > 0 && !isSpaceOrQuote(s[at-1]) {
			start := at + 1
			end := start + hostRun(s[start:], false)
			if name := s[start:end]; strings.Contains(name, ".") {
				add(name, true)
			}
		}
		i = at + 1
	}
	return out
}

func isSpaceOrQuote(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == '<' || c == '('
}

// hostRun is the length of the host characters at the start of s:
// letters, marks, digits, '-' and '.', and with authority also what a URL
// authority holds before its path (user info, '@', ':', a port).
func hostRun(s string, authority bool) int {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		ok := r == '-' || r == '.' || unicode.In(r, unicode.L, unicode.M, unicode.N) || hidden(r) && r != utf8.RuneError
		if authority && !ok {
			ok = r == '@' || r == ':' || r == '%' || r == '_' || r == '~' || r == '!' || r == '$' || r == '&' || r == '+' || r == ',' || r == ';' || r == '=' || r == '[' || r == ']'
		}
		if !ok {
			break
		}
		i += size
	}
	return i
}

// splitPort splits "name:port" and checks that the name has the shape
// of a host name.
func splitPort(s string) (name, port string, ok bool) {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s, port = s[:i], s[i+1:]
		for _, c := range []byte(port) {
			if c < '0' || c > '9' {
				return "", "", false
			}
		}
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > maxHostBytes*4 {
		return "", "", false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return "", "", false
		}
	}
	return s, port, true
}

// parseHost reads a host name: every label of letters, marks, digits
// and hyphens, at least two labels, the last not all digits.
func parseHost(name string) (host, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	labels := strings.Split(name, ".")
	if len(labels) < 2 || strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return host{}, false
	}
	h := host{written: name}
	ascii := make([]string, len(labels))
	display := make([]string, len(labels))
	for i, l := range labels {
		if l == "" || !hostLabel(l) {
			return host{}, false
		}
		if isASCIILabel(l) {
			ascii[i], display[i] = l, l
			if rest, ok := strings.CutPrefix(l, "xn--"); ok {
				u, err := punycodeDecode(rest)
				if err != nil {
					return host{}, false
				}
				display[i] = u
			}
		} else {
			enc, err := punycodeEncode(l)
			if err != nil {
				return host{}, false
			}
			ascii[i], display[i] = "xn--"+enc, l
		}
		if h.scripts == "" {
			h.scripts = mixedScripts(display[i])
		}
	}
	h.ascii, h.display = strings.Join(ascii, "."), strings.Join(display, ".")
	if len(h.ascii) > maxHostBytes {
		return host{}, false
	}
	return h, true
}

// hostLabel reports whether l is made of what a label may hold: letters,
// marks, digits, '-' and '_', and hidden characters (flagged apart).
func hostLabel(l string) bool {
	for _, r := range l {
		if !(r == '-' || r == '_' || unicode.In(r, unicode.L, unicode.M, unicode.N) || hidden(r) && r != utf8.RuneError) {
			return false
		}
	}
	return true
}

func isASCIILabel(l string) bool {
	for _, c := range []byte(l) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// scriptTables are the scripts a look-alike domain mixes: Latin with the
// others, whose letters include ones that look like Latin letters.
var scriptTables = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin},
	{"Cyrillic", unicode.Cyrillic},
	{"Greek", unicode.Greek},
	{"Armenian", unicode.Armenian},
	{"Cherokee", unicode.Cherokee},
	{"Coptic", unicode.Coptic},
	{"Georgian", unicode.Georgian},
}

// mixedScripts names the scripts of label's letters ("Latin and
// Cyrillic") when there is more than one, counting letters of scripts not
// listed as "another script"; "" when there is one.
func mixedScripts(label string) string {
	var names []string
	for _, r := range label {
		if !unicode.IsLetter(r) {
			continue
		}
		name := "another script"
		for _, s := range scriptTables {
			if unicode.Is(s.table, r) {
				name = s.name
				break
			}
		}
		if !containsString(names, name) {
			names = append(names, name)
		}
	}
	if len(names) < 2 {
		return ""
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// domainSet is the configured internal domains: "example.com" is that
// domain only, "*.example.com" any name under it.
type domainSet struct {
	exact, under []string // ASCII forms; under without the "*"
}

// newDomainSet reads the patterns of Options.InternalDomains, which the
// config has validated; a pattern that is not a domain name is left out.
func newDomainSet(patterns []string) domainSet {
	var d domainSet
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		wild := strings.HasPrefix(p, "*.")
		h, ok := parseHost(strings.TrimPrefix(p, "*."))
		if !ok {
			if name := strings.ToLower(strings.TrimPrefix(p, "*.")); isASCIILabel(name) && name != "" {
				h = host{ascii: name} // a single label: "*.corp" or "localhost"
			} else {
				continue
			}
		}
		if wild {
			d.under = append(d.under, "."+h.ascii)
		} else {
			d.exact = append(d.exact, h.ascii)
		}
	}
	return d
}

// match returns the pattern that name (an ASCII form) matches, or "".
func (d domainSet) match(name string) string {
	for _, e := range d.exact {
		if name == e {
			return e
		}
	}
	for _, u := range d.under {
		if strings.HasSuffix(name, u) {
			return "*" + u
		}
	}
	return ""
}

func (d domainSet) empty() bool { return len(d.exact)+len(d.under) == 0 }
