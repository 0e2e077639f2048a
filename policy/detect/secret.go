package detect

import (
	"slices"
	"strings"
)

// The secret detector: cloud keys, vendor tokens, JWTs, private keys, the
// password of a URL and the value of a labelled credential.
//
// Rules that decide the hard cases:
// A credential_assignment: the label's identifier must end with the label
// word (DB_PASSWORD, apiKey, x-api-key; not max_tokens, PWD, a bare PASS,
// page_token or progressToken), followed by =, :, :=, => (or a blank after
// a --flag). The span is the value, never the label. The value must not be
// a placeholder: shorter than 6 bytes; 3 distinct bytes or fewer (********,
// 000…001); wrapped in <>, [], {}, () or %%; a ${VAR}, $VAR, {{var}} or %s;
// containing xxx, ***, example, placeholder, changeme, redacted, test,
// fake, mock, sample, dummy, or the words password, passwd, secret, token;
// starting with "your" or ending in "here"; a word such as null, none, foo,
// bar, todo; its own label's name; a number. Unquoted, it must not look
// like code or a path (a call, an index, os.environ, /run/secrets/x). A
// password label takes any quoted value, and an unquoted one with a digit
// or a symbol (so "the password: whatever you choose" is prose). A secret,
// token, key or Authorization label takes only a machine-made value: 8
// bytes or more, no blanks, mixing two of lower case, upper case and
// digits.

// secretTriggers are the words that start the secret matchers.
var secretTriggers = slices.Concat(
	[]trigger{
		tok("AKIA", kAWSAccessKey, clsUpper|clsDigit, 16, 16, false),
		tok("ASIA", kAWSAccessKey, clsUpper|clsDigit, 16, 16, false),
		tok("AIza", kGoogleAPIKey, clsB64URL, 35, 35, false),
		tok("ghp_", kGitHubToken, clsAlnum, 36, 36, false),
		tok("gho_", kGitHubToken, clsAlnum, 36, 36, false),
		tok("ghu_", kGitHubToken, clsAlnum, 36, 36, false),
		tok("ghs_", kGitHubToken, clsAlnum, 36, 36, false),
		tok("ghr_", kGitHubToken, clsAlnum, 36, 36, false),
		tok("github_pat_", kGitHubToken, clsAlnum|clsUnder, 30, 255, false),
		tok("glpat-", kGitLabToken, clsB64URL, 20, 255, false),
		tok("xoxb-", kSlackToken, clsAlnum|clsDash, 10, 255, true),
		tok("xoxp-", kSlackToken, clsAlnum|clsDash, 10, 255, true),
		tok("xoxa-", kSlackToken, clsAlnum|clsDash, 10, 255, true),
		tok("xoxs-", kSlackToken, clsAlnum|clsDash, 10, 255, true),
		tok("sk_live_", kStripeKey, clsAlnum, 20, 255, false),
		tok("rk_live_", kStripeKey, clsAlnum, 20, 255, false),
	},
	exact(setSecret, actOpenAI, "sk-"),
	exact(setSecret, actJWT, "eyJ"),
	exact(setSecret, actSlackHook, "hooks"),
	exact(setSecret, actPEM, "BEGIN"),
	folded(setSecret, actLabel, "password", "passwd", "passphrase", "pass", "pwd", "secret", "token",
		"key", "apikey", "secretkey", "accesskey", "privatekey", "authorization"),
)

// token matches a vendor-prefixed token: the prefix, then a body of
// tr.body bytes whose length is within [tr.min, tr.max], standing alone.
func (s *scanner) token(tr *trigger, w int) {
	t := s.text
	if w > 0 && isAlnum(t[w-1]) {
		return
	}
	b := w + len(tr.word)
	e := run(t, b, tr.body, tr.max+1)
	if n := e - b; n < tr.min || n > tr.max || (e < len(t) && isAlnum(t[e])) {
		return
	}
	if tr.needDigit && !hasDigit(t[b:e]) {
		return
	}
	s.add(tr.kind, w, e)
}

func hasDigit(v string) bool {
	for i := 0; i < len(v); i++ {
		if isDigit(v[i]) {
			return true
		}
	}
	return false
}

// mixedCase reports whether v holds an upper-case letter, a lower-case
// letter and a digit, as a random key does and a hyphenated word does not.
func mixedCase(v string) bool {
	var seen uint8
	for i := 0; i < len(v); i++ {
		seen |= class[v[i]]
	}
	return seen&(clsUpper|clsLower|clsDigit) == clsUpper|clsLower|clsDigit
}

// openAI matches sk-… (OpenAI) and sk-ant-… (Anthropic).
func (s *scanner) openAI(w int) {
	t := s.text
	if w > 0 && (isAlnum(t[w-1]) || t[w-1] == '-' || t[w-1] == '_') {
		return
	}
	b := w + len("sk-")
	e := run(t, b, clsB64URL, 512)
	if e-b < 20 || e-b >= 512 || !mixedCase(t[b:e]) {
		return
	}
	k := kOpenAIKey
	if strings.HasPrefix(t[b:], "ant-") {
		k = kAnthropicKey
	}
	s.add(k, w, e)
}

// jwt matches header.payload.signature, the header starting eyJ.
func (s *scanner) jwt(w int) {
	t := s.text
	if w > 0 && (is(t[w-1], clsB64URL) || t[w-1] == '.') {
		return
	}
	e1 := run(t, w, clsB64URL, 8192)
	if e1-w < 10 || e1 >= len(t) || t[e1] != '.' {
		return
	}
	e2 := run(t, e1+1, clsB64URL, 65536)
	if e2-e1-1 < 4 || e2 >= len(t) || t[e2] != '.' {
		return
	}
	e3 := run(t, e2+1, clsB64URL, 8192)
	if e3-e2-1 < 16 {
		return
	}
	s.add(kJWT, w, e3)
}

// slackHook matches https://hooks.slack.com/services/T…/B…/….
func (s *scanner) slackHook(w int) {
	t := s.text
	const host = "hooks.slack.com/services/"
	if w < 2 || t[w-2:w] != "//" || !strings.HasPrefix(t[w:], host) {
		return
	}
	e := run(t, w+len(host), clsAlnum|clsPlusSlash, 256)
	if e-w-len(host) < 20 {
		return
	}
	start := w - 2
	for _, scheme := range []string{"https:", "http:"} {
		if strings.HasSuffix(t[:start], scheme) {
			start -= len(scheme)
			break
		}
	}
	s.add(kSlackWebhook, start, e)
}

// pem matches a PEM private key block from its BEGIN line to its END line,
// or to the first blank line when there is no END line.
func (s *scanner) pem(w int) {
	t := s.text
	const dashes = "-----"
	if w < s.pemNext || w < len(dashes) || t[w-len(dashes):w] != dashes || w+len("BEGIN ") >= len(t) || t[w+5] != ' ' {
		return
	}
	hdr := w + len("BEGIN ")
	j := strings.Index(t[hdr:min(len(t), hdr+64)], dashes)
	if j < 0 {
		return
	}
	label := t[hdr : hdr+j]
	if !strings.HasSuffix(label, "PRIVATE KEY") && !strings.HasSuffix(label, "PRIVATE KEY BLOCK") {
		return
	}
	body := hdr + j + len(dashes)
	window := t[body:min(len(t), body+65536)]
	end := body + len(window)
	if k := strings.Index(window, "-----END "); k >= 0 {
		if m := strings.Index(window[k+len("-----END "):min(len(window), k+len("-----END ")+64)], dashes); m >= 0 {
			end = body + k + len("-----END ") + m + len(dashes)
		}
	} else if k := strings.Index(window, "\n\n"); k >= 0 {
		end = body + k
	} else if k := strings.Index(window, "\r\n\r\n"); k >= 0 {
		end = body + k
	}
	s.pemNext = end
	s.add(kPrivateKey, w-len(dashes), end)
}

// label matches an assignment to a credential label: DB_PASSWORD=…,
// "apiKey": "…", token: …, Authorization: Bearer …. The finding spans the
// value.
func (s *scanner) label(w int, word string) {
	t := s.text
	if w < s.labelNext {
		return // inside the value of the previous label
	}
	e := w + len(word)
	if e < len(t) && (isIdent(t[e]) || t[e] == '-') {
		return // the word does not end the identifier
	}
	b := w
	for b > 0 && w-b < 64 && (isIdent(t[b-1]) || t[b-1] == '-' || t[b-1] == '.') {
		b--
	}
	name := t[b:e]
	if !credentialName(name, word) {
		return
	}
	// A label inside a string ("PWD="+dir) has its value up to the end of
	// that string; a quoted key ("password": …) is closed after the name.
	var inString byte
	p := e
	if b > 0 && (t[b-1] == '"' || t[b-1] == '\'') {
		if p < len(t) && t[p] == t[b-1] {
			p++
		} else {
			inString = t[b-1]
		}
	}
	p = skipBlanks(t, p)
	if p >= len(t) {
		return
	}
	switch c := t[p]; {
	case c == '=' && p+1 < len(t) && (t[p+1] == '=' || t[p+1] == '~'):
		return // a comparison
	case c == '=' && p+1 < len(t) && t[p+1] == '>':
		p += 2
	case c == '=':
		p++
	case c == ':' && p+1 < len(t) && t[p+1] == '=':
		p += 2
	case c == ':' && p+1 < len(t) && t[p+1] == ':':
		return
	case c == ':':
		p++
	case strings.HasPrefix(name, "--") && p > e:
		// --password VALUE
	default:
		return
	}
	p = skipBlanks(t, p)
	vs, ve, quoted := value(t, p)
	if inString != 0 {
		vs, ve, quoted = p, p, false
		for ve < len(t) && ve-p < 512 && t[ve] != inString && !isSpace(t[ve]) {
			ve++
		}
	}
	if vs >= ve {
		return
	}
	s.labelNext = ve
	if equalFold(word, "authorization") {
		if vs, ve = authCredential(t, vs, ve, quoted); vs >= ve {
			return
		}
	}
	v := t[vs:ve]
	aws := (containsFold(name, "aws") || hasSuffixFold(name, "secret_access_key") || hasSuffixFold(name, "secretaccesskey")) &&
		len(v) == 40 && run(v, 0, clsB64, 41) == 40
	switch {
	case aws && !sameByte(v):
		s.add(kAWSSecretKey, vs, ve)
	case credentialValue(v, name, word, quoted):
		s.add(kCredentialAssignment, vs, ve)
	}
}

// credentialName reports whether the identifier name, which ends with the
// trigger word, names a credential.
func credentialName(name, word string) bool {
	switch word {
	case "pwd":
		return name != "PWD" && name != "OLDPWD" // the shell's working directory
	case "pass":
		return len(name) > len(word) // DB_PASS, not a test's PASS:
	case "key":
		stem := strings.TrimRight(name[:len(name)-3], "_-")
		for _, q := range []string{"api", "secret", "access", "private", "signing", "encryption", "master", "auth"} {
			if hasSuffixFold(stem, q) {
				return true
			}
		}
		return false
	case "token":
		for _, q := range []string{"page_token", "pagetoken", "next_token", "nexttoken", "continuation_token",
			"sync_token", "cursor_token", "progress_token", "progresstoken"} {
			if hasSuffixFold(name, q) {
				return false
			}
		}
	}
	return true
}

// value returns the bounds of the value at p: the inside of a quoted
// string on one line, or a run of bytes up to a blank or a delimiter.
func value(t string, p int) (vs, ve int, quoted bool) {
	if p >= len(t) {
		return p, p, false
	}
	if q := t[p]; q == '"' || q == '\'' || q == '`' {
		for i := p + 1; i < len(t) && i-p <= 512; i++ {
			switch t[i] {
			case '\\':
				i++
			case '\n':
				return p, p, false
			case q:
				return p + 1, i, true
			}
		}
		return p, p, false
	}
	i := p
	for i < len(t) && i-p < 512 && !valueStop(t[i]) {
		i++
	}
	if i > p && t[i-1] == '.' {
		i-- // the full stop of a sentence
	}
	return p, i, false
}

func valueStop(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', ',', ';', '&', ')', '}', ']', '<', '>':
		return true
	}
	return false
}

// authCredential strips the scheme (Bearer, Basic, Token) from the value
// of an Authorization label; an unquoted value continues past it.
func authCredential(t string, vs, ve int, quoted bool) (int, int) {
	scheme := t[vs:ve]
	if quoted {
		sp := strings.IndexByte(scheme, ' ')
		if sp < 0 {
			return vs, ve
		}
		scheme = scheme[:sp]
	}
	if !oneOfFold(scheme, "bearer", "basic", "token", "digest", "apikey") {
		return vs, ve
	}
	p := skipBlanks(t, vs+len(scheme))
	if quoted {
		return p, ve
	}
	_, e, _ := value(t, p)
	return p, e
}

// passwordWords are the label words of human-chosen secrets; the others
// (secret, token, key, authorization) label machine-made ones.
var passwordWords = []string{"password", "passwd", "passphrase", "pass", "pwd"}

// credentialValue reports whether v, assigned to the label name (which
// ends with word), looks like a real credential rather than a placeholder,
// a test value or code.
func credentialValue(v, name, word string, quoted bool) bool {
	if len(v) < 6 || placeholder(v) || equalFold(v, name) {
		return false
	}
	var seen uint8
	for i := 0; i < len(v); i++ {
		seen |= class[v[i]]
	}
	if seen&^clsDigit == 0 || (len(v) <= 18 && (strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X")) && run(v, 2, clsDigit|clsUpper|clsLower, 17) == len(v)) {
		return false // a number
	}
	if !quoted {
		if strings.ContainsAny(v, "()[]{}") || v[0] == '/' || v[0] == '~' || strings.HasPrefix(v, "./") {
			return false // code or a file path
		}
		dotted, dots := isLetter(v[0]) || v[0] == '_', 0
		for i := 0; i < len(v); i++ {
			if v[i] == '.' {
				dots++
			} else if !isIdent(v[i]) {
				dotted = false
			}
		}
		if dotted && dots > 0 {
			return false // a dotted name: os.environ, config.password
		}
	}
	if oneOfFold(word, passwordWords...) {
		// People choose passwords: a quoted word will do; an unquoted one
		// needs a digit or a symbol to tell it from prose.
		return quoted || seen&clsDigit != 0 || strings.ContainsAny(v, "!@#$%^*+=?~|:\\")
	}
	// Machines make tokens: no blanks, and a mix of letters and digits or
	// of cases.
	mix := 0
	for _, c := range []uint8{clsLower, clsUpper, clsDigit} {
		if seen&c != 0 {
			mix++
		}
	}
	return len(v) >= 8 && mix >= 2 && !strings.ContainsAny(v, " \t")
}

// placeholder reports whether v is an obvious stand-in for a secret: a
// mask, a template, a reference, a word meant to be replaced, a test value.
func placeholder(v string) bool {
	if len(v) == 0 || distinctBytes(v) <= 3 {
		return true
	}
	first, last := v[0], v[len(v)-1]
	switch {
	case first == '<' && last == '>', first == '[' && last == ']', first == '{' && last == '}', first == '%' && last == '%',
		first == '(' && last == ')':
		return true
	case first == '$' && len(v) > 1 && (v[1] == '{' || v[1] == '(' || v[1] == '_' || isLetter(v[1])):
		return true
	case first == '%' && len(v) > 1 && (isLetter(v[1]) || v[1] == '('):
		return true // a format verb: %s, %(password)s
	case strings.Contains(v, "***"), strings.Contains(v, "{{"), strings.Contains(v, "${"), strings.Contains(v, "•••"):
		return true
	}
	for _, w := range []string{"xxx", "example", "placeholder", "changeme", "change_me", "change-me", "redacted",
		"dummy", "fake", "mock", "sample", "test", "password", "passwd", "secret", "token"} {
		if containsFold(v, w) {
			return true
		}
	}
	if hasPrefixFold(v, "your") || hasSuffixFold(v, "here") {
		return true
	}
	return oneOfFold(v, "null", "none", "undefined", "empty", "string", "required", "optional", "hidden", "masked",
		"default", "foobar", "foo", "bar", "baz", "qux", "todo", "fixme", "unknown", "nil", "true", "false", "pass", "pw", "pwd")
}

// distinctBytes counts the distinct bytes of v, up to 4.
func distinctBytes(v string) int {
	var seen [4]byte
	n := 0
next:
	for i := 0; i < len(v) && n < len(seen); i++ {
		for _, c := range seen[:n] {
			if c == v[i] {
				continue next
			}
		}
		seen[n] = v[i]
		n++
	}
	return n
}

func sameByte(v string) bool {
	for i := 1; i < len(v); i++ {
		if v[i] != v[0] {
			return false
		}
	}
	return true
}

// atSign runs the detectors that start at an '@': the password of a URL's
// user info and e-mail addresses.
func (s *scanner) atSign(at int) {
	t := s.text
	// scheme://user:password@host
	if pw, userinfo := userinfoPassword(t, at); userinfo {
		if s.want&setSecret != 0 && at-pw >= 3 && !placeholder(t[pw:at]) {
			s.add(kConnectionPassword, pw, at)
		}
		return
	}
	if s.want&setPII != 0 {
		s.email(at)
	}
}

// userinfoPassword reports whether the '@' at at ends the user info of a
// URL (scheme://user[:password]@), and where the password starts (at when
// there is none).
func userinfoPassword(t string, at int) (pw int, ok bool) {
	i := at
	colon := -1
	for i > 0 && at-i < 256 {
		c := t[i-1]
		if c == '/' || c == '@' || isSpace(c) || c == '"' || c == '\'' || c == '<' || c == '>' {
			break
		}
		if c == ':' && colon < 0 {
			colon = i - 1
		}
		i--
	}
	if i < 3 || t[i-2:i] != "//" || t[i-3] != ':' {
		return at, false
	}
	sc := i - 3
	j := sc
	for j > 0 && sc-j < 32 && (isAlnum(t[j-1]) || t[j-1] == '+' || t[j-1] == '.' || t[j-1] == '-') {
		j--
	}
	if j == sc || !isLetter(t[j]) {
		return at, false
	}
	// The password is after the first colon of the user info.
	colon = -1
	for k := i; k < at; k++ {
		if t[k] == ':' {
			colon = k
			break
		}
	}
	if colon < 0 {
		return at, true
	}
	return colon + 1, true
}

// labelWords are the words that, ending a key, label a credential.
var labelWords = []string{"password", "passwd", "passphrase", "pass", "pwd", "secret", "token", "key", "apikey",
	"secretkey", "accesskey", "privatekey", "authorization"}

// DetectField returns what the secret detector finds in value because of
// the key it is the value of: a JSON member such as {"password":
// "hunter2"}, {"client_secret": "…"} or {"Authorization": "Bearer …"},
// whose key and value the detectors otherwise see apart. The key is
// judged as a label (it must end with a credential word that starts a
// word of it: db_password, apiKey, x-api-key; not password_hint,
// token_count, max_tokens, bypass, page_token) and the value as the value
// of a quoted assignment (not empty, not a placeholder: "<your-password>",
// "${PASSWORD}", "changeme", "********"; for a token, key, secret or
// Authorization, a machine-made value). Both are normalised text. The
// finding spans the value (after an Authorization scheme).
func DetectField(key, value string) []Finding {
	return AppendFieldFindings(nil, key, value)
}

// AppendFieldFindings is DetectField appending to dst.
func AppendFieldFindings(dst []Finding, key, value string) []Finding {
	if len(value) < 6 || len(value) > 4096 || len(key) > 128 {
		return dst
	}
	word := ""
	for _, w := range labelWords {
		if hasSuffixFold(key, w) && labelStart(key, len(key)-len(w)) && credentialName(key, w) {
			word = w
			break
		}
	}
	if word == "" || word == "pwd" && (value[0] == '/' || value[0] == '~') {
		return dst // a working directory
	}
	vs, ve := 0, len(value)
	if word == "authorization" {
		if vs, ve = authCredential(value, vs, ve, true); vs >= ve {
			return dst
		}
	}
	v := value[vs:ve]
	k := kCredentialAssignment
	switch {
	case (containsFold(key, "aws") || hasSuffixFold(key, "secret_access_key") || hasSuffixFold(key, "secretaccesskey")) &&
		len(v) == 40 && run(v, 0, clsB64, 41) == 40 && !sameByte(v):
		k = kAWSSecretKey
	case !credentialValue(v, key, word, true):
		return dst
	}
	info := &kinds[k]
	return append(dst, Finding{Threat: info.Threat, Kind: info.Kind, Severity: info.Severity, Start: vs, End: ve})
}

// labelStart reports whether a word of the key starts at i: at its start,
// after a byte that is not a letter, or at a capital after a lower-case
// letter (apiKey).
func labelStart(key string, i int) bool {
	return i == 0 || !isLetter(key[i-1]) || isLower(key[i-1]) && key[i]-'A' < 26
}

func isLower(c byte) bool { return c-'a' < 26 }
