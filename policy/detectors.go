package policy

import (
	"math/bits"
	"slices"
	"strings"
)

// Finding is one span of a text that a detector matched.
type Finding struct {
	Threat Threat
	// Kind says what exactly matched: one of the kinds listed by Kinds.
	Kind string
	// Severity is fixed per Kind, in (0, 1].
	Severity float64
	// Start and End are byte offsets in the text: text[Start:End] is what
	// matched.
	Start, End int
}

// KindInfo documents one kind of finding.
type KindInfo struct {
	Threat      Threat
	Kind        string
	Severity    float64
	Description string
}

// Detect returns what every detector finds in text, ordered by Start.
//
// The text is one string value of a call's arguments (or of a tool
// result), already normalised by the caller: NFKC, zero-width characters
// removed. Detect does not normalise again.
//
// The kinds of finding, by detector, with their fixed severities:
//
//	secret
//	  aws_access_key         0.9  AWS access key id: AKIA or ASIA and 16 upper-case letters or digits
//	  aws_secret_key         1.0  AWS secret access key: 40 base64 characters labelled aws_secret_access_key (or the like)
//	  github_token           1.0  GitHub token: ghp_, gho_, ghu_, ghs_, ghr_ and 36 characters, or github_pat_…
//	  gitlab_token           1.0  GitLab personal access token: glpat-…
//	  slack_token            1.0  Slack token: xoxb-, xoxp-, xoxa-, xoxs-…
//	  slack_webhook          0.8  Slack incoming webhook URL: https://hooks.slack.com/services/…
//	  stripe_key             1.0  Stripe live secret or restricted key: sk_live_…, rk_live_…
//	  openai_key             1.0  OpenAI API key: sk-… or sk-proj-… (mixed letters and digits)
//	  anthropic_key          1.0  Anthropic API key: sk-ant-…
//	  google_api_key         0.9  Google API key: AIza and 35 characters
//	  jwt                    0.8  JSON Web Token: three base64url segments, the first starting eyJ
//	  private_key            1.0  PEM private key, from -----BEGIN … PRIVATE KEY----- to its END line (or to the first blank line)
//	  connection_password    0.9  the password in a URL's user info: scheme://user:PASSWORD@host
//	  credential_assignment  0.8  the value assigned to a password, secret, token, API key or Authorization label
//	pii
//	  ssn                    0.9  US social security number ddd-dd-dddd (valid area, group and serial)
//	  card_number            0.9  payment card number: 13–16 digits in a run or 13–19 in groups, passing Luhn, with a known issuer prefix
//	  iban                   0.7  IBAN, grouped by four or not, passing the mod-97 check
//	  email                  0.3  e-mail address
//	  phone                  0.3  phone number: E.164 (+ and 10–15 digits) or North American (555) 123-4567, 555-123-4567
//	prompt_injection
//	  tag_characters         0.9  Unicode tag characters U+E0000–U+E007F (text invisible to the person)
//	  override_phrase        0.8  "ignore all previous instructions", "new instructions:", "IMPORTANT: … ignore …"
//	  jailbreak              0.7  "act as DAN", "you are now in developer mode", "do anything now"
//	  concealment            0.7  "do not tell the user", "without informing the user"
//	  role_marker            0.7  chat-template role markers: </system>, <|im_start|>, [INST], <<SYS>>, <IMPORTANT>
//	  prompt_leak            0.6  "reveal your system prompt", "print your instructions"
//	  bidi_control           0.6  bidirectional overrides U+202A–U+202E, U+2066–U+2069
//	  role_reassignment      0.5  "you are now a …", "you are now an …"
//	  system_prompt          0.3  a mention of the "system prompt"
//	shell_injection
//	  destructive_rm         1.0  recursive rm of /, ~, *, $HOME or a top-level system directory, or with --no-preserve-root
//	  disk_wipe              1.0  mkfs, a write to a disk device (> /dev/sda, dd of=/dev/sda)
//	  fork_bomb              1.0  :(){ :|:& };: and its renamed forms
//	  reverse_shell          1.0  /dev/tcp/…, /dev/udp/…, nc -e, bash -i >&
//	  pipe_to_shell          0.9  a pipe into a shell: | sh, | bash (curl … | sh)
//	  world_writable         0.8  chmod 777 (or a+rwx) of /, ~ or a top-level system directory
//	  chained_command        0.7  ;, &&, || or | followed by a dangerous command (rm, curl, wget, nc, dd, chmod, …)
//	  command_substitution   0.6  $(command) or `command`
//	  sudo                   0.5  sudo at a command position
//	path_traversal
//	  encoded_dotdot         0.9  a percent-encoded ../ (%2e%2e%2f, ..%2f, %252e%252e%252f, …)
//	  sensitive_file         0.8  /etc/passwd, /etc/shadow, ~/.ssh/, id_rsa, ~/.aws/credentials, /proc/self/environ, …\System32\config\SAM
//	  dotdot                 0.7  a .. path segment next to a / or \ (../, ..\, /..)
//	sql_destructive
//	  drop_database          1.0  DROP DATABASE, DROP SCHEMA
//	  drop_table             0.9  DROP TABLE, VIEW, INDEX, SEQUENCE, FUNCTION, PROCEDURE, TRIGGER, TYPE, USER, ROLE
//	  truncate               0.9  TRUNCATE [TABLE] name
//	  delete_without_where   0.9  DELETE FROM name with no WHERE in the statement (WHERE 1=1 and WHERE TRUE count as none)
//	  update_without_where   0.8  UPDATE name SET … with no WHERE in the statement
//	  alter_drop             0.7  ALTER TABLE … DROP …
//	  grant_all              0.6  GRANT ALL [PRIVILEGES] ON …
//
// Rules that decide the hard cases:
//
//   - credential_assignment: the label's identifier must end with the label
//     word (DB_PASSWORD, apiKey, x-api-key; not max_tokens, PWD, a bare PASS,
//     page_token or progressToken), followed by =, :, :=, => (or a blank
//     after a --flag). The span is the value, never the label. The value
//     must not be a placeholder: shorter than 6 bytes; 3 distinct bytes or
//     fewer (********, 000…001); wrapped in <>, [], {}, () or %%; a ${VAR},
//     $VAR, {{var}} or %s; containing xxx, ***, example, placeholder,
//     changeme, redacted, test, fake, mock, sample, dummy, or the words
//     password, passwd, secret, token; starting with "your" or ending in
//     "here"; a word such as null, none, foo, bar, todo; its own label's
//     name; a number. Unquoted, it must not look like code or a path (a
//     call, an index, os.environ, /run/secrets/x). A password label takes
//     any quoted value, and an unquoted one with a digit or a symbol (so
//     "the password: whatever you choose" is prose). A secret, token, key
//     or Authorization label takes only a machine-made value: 8 bytes or
//     more, no blanks, mixing two of lower case, upper case and digits.
//   - shell_injection: a command counts only at a command position: the
//     start of the text or of a line, or after ;, &, &&, ||, |, (, {, $(,
//     an opening backtick, or the opening quote of a -c or eval argument,
//     possibly after sudo, env, exec, nohup, nice, time, then, do and
//     NAME=value assignments. Separators inside a quoted string do not
//     count, so a command quoted in prose ("rm -rf /") is not at a command
//     position. Command names are matched case-sensitively, and a name
//     followed by = or != is a variable. A chain (chained_command,
//     pipe_to_shell, and sudo after a separator) also needs a shell
//     context: a line that reads as shell (its first word is a shell
//     command, an assignment or a program's path; not if, for or while,
//     which start lines of code too), or the inside of a -c argument or a
//     backtick substitution; "a || sh" in a build constraint is not one.
//     A backtick pair is a command substitution only on a line that reads
//     as shell and when it starts with a common command (`id`, `cat …`);
//     elsewhere it is Markdown inline code or a raw string. $( counts when
//     a command's name follows: a path, a lower-case name with arguments, or
//     a common command alone ($(whoami)); not $(this), $(opts.el), $(CC) or
//     $((1 + 2)).
//   - sql_destructive: a keyword counts only at the start of a statement
//     (start of text or line, after ; ( ) or a quote, or after BEGIN, THEN,
//     ELSE, DO) and followed by white space or a comment; comments may sit
//     between keywords (DROP/**/TABLE); a statement ends at the next ;
//     outside quotes. DELETE FROM and UPDATE … SET need a table name and,
//     without TABLE, TRUNCATE a name that ends the statement, so that prose
//     ("delete from the list the items …") does not count.
//   - pii: a card number is 13 to 16 digits in one run, or 13 to 19 digits
//     in groups (the first of four) separated by single spaces or dashes;
//     it must pass Luhn and start with a known issuer prefix, so a 16-digit
//     number that fails Luhn, a longer digit run or an int64 constant is
//     not one. A phone needs a + (E.164) or the North American 3-3-4
//     grouping with separators, so dates, versions and IP addresses are not
//     phones.
//   - prompt_injection: ignore/disregard/forget/override needs an object
//     (instructions, rules, prompts, …) qualified as previous, prior, above,
//     your, system … ("ignore the above rule"), or as all, any, every with
//     a plural object ("ignore all rules", not "ignore any rule that …").
//   - path_traversal: ".." counts only as a whole path segment next to a /
//     or \ (so "wait.. what", "1..3" and the regular expression \..* do
//     not).
func Detect(text string) []Finding {
	return appendFindings(nil, text, allThreats)
}

// AppendFindings is Detect appending to dst, so that a caller can reuse a
// buffer. It does not allocate when nothing is found and dst has room for
// what is.
func AppendFindings(dst []Finding, text string) []Finding {
	return appendFindings(dst, text, allThreats)
}

// DetectOnly is Detect restricted to the detectors of the threats named.
func DetectOnly(text string, threats ...Threat) []Finding {
	var want threatSet
	for _, t := range threats {
		want |= threatBit(t)
	}
	return appendFindings(nil, text, want)
}

// Severity is the fixed severity of a finding kind; 0 for an unknown kind.
func Severity(kind string) float64 {
	return severityOf[kind]
}

// Kinds lists every kind of finding a detector can return, with its threat
// and severity, in documentation order.
func Kinds() []KindInfo {
	return slices.Clone(kinds[:])
}

// threatSet is a set of detectors, one bit per Threat.
type threatSet uint8

const (
	setSecret threatSet = 1 << iota
	setPII
	setPrompt
	setShell
	setPath
	setSQL

	allThreats = setSecret | setPII | setPrompt | setShell | setPath | setSQL
)

func threatBit(t Threat) threatSet {
	switch t {
	case ThreatSecret:
		return setSecret
	case ThreatPII:
		return setPII
	case ThreatPromptInjection:
		return setPrompt
	case ThreatShellInjection:
		return setShell
	case ThreatPathTraversal:
		return setPath
	case ThreatSQLDestructive:
		return setSQL
	}
	return 0
}

// kind indexes kinds.
type kind uint8

const (
	kAWSAccessKey kind = iota
	kAWSSecretKey
	kGitHubToken
	kGitLabToken
	kSlackToken
	kSlackWebhook
	kStripeKey
	kOpenAIKey
	kAnthropicKey
	kGoogleAPIKey
	kJWT
	kPrivateKey
	kConnectionPassword
	kCredentialAssignment

	kSSN
	kCardNumber
	kIBAN
	kEmail
	kPhone

	kTagCharacters
	kOverridePhrase
	kJailbreak
	kConcealment
	kRoleMarker
	kPromptLeak
	kBidiControl
	kRoleReassignment
	kSystemPrompt

	kDestructiveRM
	kDiskWipe
	kForkBomb
	kReverseShell
	kPipeToShell
	kWorldWritable
	kChainedCommand
	kCommandSubstitution
	kSudo

	kEncodedDotDot
	kSensitiveFile
	kDotDot

	kDropDatabase
	kDropTable
	kTruncate
	kDeleteWithoutWhere
	kUpdateWithoutWhere
	kAlterDrop
	kGrantAll

	numKinds
)

var kinds = [numKinds]KindInfo{
	kAWSAccessKey:         {ThreatSecret, "aws_access_key", 0.9, "AWS access key id: AKIA or ASIA and 16 upper-case letters or digits"},
	kAWSSecretKey:         {ThreatSecret, "aws_secret_key", 1.0, "AWS secret access key: 40 base64 characters labelled aws_secret_access_key (or the like)"},
	kGitHubToken:          {ThreatSecret, "github_token", 1.0, "GitHub token: ghp_, gho_, ghu_, ghs_, ghr_ and 36 characters, or github_pat_…"},
	kGitLabToken:          {ThreatSecret, "gitlab_token", 1.0, "GitLab personal access token: glpat-…"},
	kSlackToken:           {ThreatSecret, "slack_token", 1.0, "Slack token: xoxb-, xoxp-, xoxa-, xoxs-…"},
	kSlackWebhook:         {ThreatSecret, "slack_webhook", 0.8, "Slack incoming webhook URL: https://hooks.slack.com/services/…"},
	kStripeKey:            {ThreatSecret, "stripe_key", 1.0, "Stripe live secret or restricted key: sk_live_…, rk_live_…"},
	kOpenAIKey:            {ThreatSecret, "openai_key", 1.0, "OpenAI API key: sk-… or sk-proj-… (mixed letters and digits)"},
	kAnthropicKey:         {ThreatSecret, "anthropic_key", 1.0, "Anthropic API key: sk-ant-…"},
	kGoogleAPIKey:         {ThreatSecret, "google_api_key", 0.9, "Google API key: AIza and 35 characters"},
	kJWT:                  {ThreatSecret, "jwt", 0.8, "JSON Web Token: three base64url segments, the first starting eyJ"},
	kPrivateKey:           {ThreatSecret, "private_key", 1.0, "PEM private key, from -----BEGIN … PRIVATE KEY----- to its END line (or to the first blank line)"},
	kConnectionPassword:   {ThreatSecret, "connection_password", 0.9, "the password in a URL's user info: scheme://user:PASSWORD@host"},
	kCredentialAssignment: {ThreatSecret, "credential_assignment", 0.8, "the value assigned to a password, secret, token, API key or Authorization label"},

	kSSN:        {ThreatPII, "ssn", 0.9, "US social security number ddd-dd-dddd (valid area, group and serial)"},
	kCardNumber: {ThreatPII, "card_number", 0.9, "payment card number: 13–16 digits in a run or 13–19 in groups, passing Luhn, with a known issuer prefix"},
	kIBAN:       {ThreatPII, "iban", 0.7, "IBAN, grouped by four or not, passing the mod-97 check"},
	kEmail:      {ThreatPII, "email", 0.3, "e-mail address"},
	kPhone:      {ThreatPII, "phone", 0.3, "phone number: E.164 (+ and 10–15 digits) or North American (555) 123-4567, 555-123-4567"},

	kTagCharacters:    {ThreatPromptInjection, "tag_characters", 0.9, "Unicode tag characters U+E0000–U+E007F (text invisible to the person)"},
	kOverridePhrase:   {ThreatPromptInjection, "override_phrase", 0.8, `"ignore all previous instructions", "new instructions:", "IMPORTANT: … ignore …"`},
	kJailbreak:        {ThreatPromptInjection, "jailbreak", 0.7, `"act as DAN", "you are now in developer mode", "do anything now"`},
	kConcealment:      {ThreatPromptInjection, "concealment", 0.7, `"do not tell the user", "without informing the user"`},
	kRoleMarker:       {ThreatPromptInjection, "role_marker", 0.7, "chat-template role markers: </system>, <|im_start|>, [INST], <<SYS>>, <IMPORTANT>"},
	kPromptLeak:       {ThreatPromptInjection, "prompt_leak", 0.6, `"reveal your system prompt", "print your instructions"`},
	kBidiControl:      {ThreatPromptInjection, "bidi_control", 0.6, "bidirectional overrides U+202A–U+202E, U+2066–U+2069"},
	kRoleReassignment: {ThreatPromptInjection, "role_reassignment", 0.5, `"you are now a …", "you are now an …"`},
	kSystemPrompt:     {ThreatPromptInjection, "system_prompt", 0.3, `a mention of the "system prompt"`},

	kDestructiveRM:       {ThreatShellInjection, "destructive_rm", 1.0, "recursive rm of /, ~, *, $HOME or a top-level system directory, or with --no-preserve-root"},
	kDiskWipe:            {ThreatShellInjection, "disk_wipe", 1.0, "mkfs, a write to a disk device (> /dev/sda, dd of=/dev/sda)"},
	kForkBomb:            {ThreatShellInjection, "fork_bomb", 1.0, ":(){ :|:& };: and its renamed forms"},
	kReverseShell:        {ThreatShellInjection, "reverse_shell", 1.0, "/dev/tcp/…, /dev/udp/…, nc -e, bash -i >&"},
	kPipeToShell:         {ThreatShellInjection, "pipe_to_shell", 0.9, "a pipe into a shell: | sh, | bash (curl … | sh)"},
	kWorldWritable:       {ThreatShellInjection, "world_writable", 0.8, "chmod 777 (or a+rwx) of /, ~ or a top-level system directory"},
	kChainedCommand:      {ThreatShellInjection, "chained_command", 0.7, ";, &&, || or | followed by a dangerous command (rm, curl, wget, nc, dd, chmod, …)"},
	kCommandSubstitution: {ThreatShellInjection, "command_substitution", 0.6, "$(command) or `command`"},
	kSudo:                {ThreatShellInjection, "sudo", 0.5, "sudo at a command position"},

	kEncodedDotDot: {ThreatPathTraversal, "encoded_dotdot", 0.9, "a percent-encoded ../ (%2e%2e%2f, ..%2f, %252e%252e%252f, …)"},
	kSensitiveFile: {ThreatPathTraversal, "sensitive_file", 0.8, `/etc/passwd, /etc/shadow, ~/.ssh/, id_rsa, ~/.aws/credentials, /proc/self/environ, …\System32\config\SAM`},
	kDotDot:        {ThreatPathTraversal, "dotdot", 0.7, `a .. path segment next to a / or \ (../, ..\, /..)`},

	kDropDatabase:       {ThreatSQLDestructive, "drop_database", 1.0, "DROP DATABASE, DROP SCHEMA"},
	kDropTable:          {ThreatSQLDestructive, "drop_table", 0.9, "DROP TABLE, VIEW, INDEX, SEQUENCE, FUNCTION, PROCEDURE, TRIGGER, TYPE, USER, ROLE"},
	kTruncate:           {ThreatSQLDestructive, "truncate", 0.9, "TRUNCATE [TABLE] name"},
	kDeleteWithoutWhere: {ThreatSQLDestructive, "delete_without_where", 0.9, "DELETE FROM name with no WHERE in the statement (WHERE 1=1 and WHERE TRUE count as none)"},
	kUpdateWithoutWhere: {ThreatSQLDestructive, "update_without_where", 0.8, "UPDATE name SET … with no WHERE in the statement"},
	kAlterDrop:          {ThreatSQLDestructive, "alter_drop", 0.7, "ALTER TABLE … DROP …"},
	kGrantAll:           {ThreatSQLDestructive, "grant_all", 0.6, "GRANT ALL [PRIVILEGES] ON …"},
}

var severityOf = func() map[string]float64 {
	m := make(map[string]float64, len(kinds))
	for _, k := range kinds {
		m[k.Kind] = k.Severity
	}
	return m
}()

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
	s := scanner{text: text, want: want, out: dst}
	s.sh.reset(0)
	s.scanWords()
	s.scanBytes(has)
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
	var prevLetters, prevLower, prevDots uint64
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
	triggers = slices.Concat(
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

		folded(setPrompt, actOverride, "ignore", "disregard", "forget", "override"),
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

		exact(setShell, actCommand, "rm", "curl", "wget", "sh", "bash", "zsh", "dash", "ksh", "mkfs", "dd",
			"nc", "ncat", "netcat", "socat", "telnet", "chmod", "chown", "sudo", "shutdown", "reboot",
			"poweroff", "halt", "killall", "eval"),
		exact(setShell, actDev, "dev"),

		exact(setPath, actEtc, "etc"),
		exact(setPath, actSSH, "ssh"),
		exact(setPath, actIDKey, "id"),
		exact(setPath, actProc, "proc"),
		exact(setPath, actAWSDir, "aws"),
		folded(setPath, actWindows, "windows"),

		folded(setSQL, actSQL, "drop", "truncate", "delete", "update", "alter", "grant"),
	)
	if len(triggers) > 255 {
		panic("policy: too many trigger words")
	}
	key := func(t trigger) int { return prefixKey(t.word[0], t.word[1]) }
	slices.SortStableFunc(triggers, func(a, b trigger) int { return key(a) - key(b) })
	for i, t := range triggers {
		if k := key(t); k < 26*26 {
			prefixStart[k+1] = uint8(i + 1)
		} else {
			panic("policy: trigger word " + t.word + " does not start with two letters")
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
			continue
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

// ---- Byte classes and small helpers --------------------------------------

const (
	clsLower uint8 = 1 << iota
	clsUpper
	clsDigit
	clsUnder
	clsDash
	clsPlusSlash

	clsAlpha  = clsLower | clsUpper
	clsAlnum  = clsAlpha | clsDigit
	clsB64URL = clsAlnum | clsUnder | clsDash
	clsB64    = clsAlnum | clsPlusSlash
)

var class = func() (c [256]uint8) {
	for b := 'a'; b <= 'z'; b++ {
		c[b] = clsLower
		c[b-32] = clsUpper
	}
	for b := '0'; b <= '9'; b++ {
		c[b] = clsDigit
	}
	c['_'], c['-'], c['+'], c['/'] = clsUnder, clsDash, clsPlusSlash, clsPlusSlash
	return c
}()

func is(c byte, cls uint8) bool { return class[c]&cls != 0 }
func isLetter(c byte) bool      { return class[c]&clsAlpha != 0 }
func isDigit(c byte) bool       { return c-'0' < 10 }
func isAlnum(c byte) bool       { return class[c]&clsAlnum != 0 }
func isIdent(c byte) bool       { return class[c]&(clsAlnum|clsUnder) != 0 }
func isBlank(c byte) bool       { return c == ' ' || c == '\t' }
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func lower(c byte) byte {
	if c-'A' < 26 {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether s begins with the lower-case word, ignoring
// ASCII case.
func hasPrefixFold(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	for i := 0; i < len(word); i++ {
		if lower(s[i]) != word[i] {
			return false
		}
	}
	return true
}

// equalFold reports whether s is the lower-case word, ignoring ASCII case.
func equalFold(s, word string) bool {
	return len(s) == len(word) && hasPrefixFold(s, word)
}

func hasSuffixFold(s, word string) bool {
	return len(s) >= len(word) && hasPrefixFold(s[len(s)-len(word):], word)
}

func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if hasPrefixFold(s[i:], word) {
			return true
		}
	}
	return false
}

func oneOfFold(s string, words ...string) bool {
	for _, w := range words {
		if equalFold(s, w) {
			return true
		}
	}
	return false
}

// run returns the end of the run of bytes of class cls that starts at i,
// looking at most max bytes ahead.
func run(t string, i int, cls uint8, max int) int {
	j := i
	for j < len(t) && j-i < max && class[t[j]]&cls != 0 {
		j++
	}
	return j
}

func skipBlanks(t string, i int) int {
	for i < len(t) && isBlank(t[i]) {
		i++
	}
	return i
}

// wordEnds reports whether no letter or digit follows at i.
func wordEnds(t string, i int) bool {
	return i >= len(t) || !isIdent(t[i])
}

// ---- secret ---------------------------------------------------------------

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

// ---- pii: numbers ---------------------------------------------------------

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
func e164(t string, p int) int {
	i := p + 1
	if i >= len(t) || !isDigit(t[i]) || t[i] == '0' {
		return p
	}
	n, end := 0, p
	for {
		e := run(t, i, clsDigit, 16)
		n += e - i
		if end = e; n > 15 {
			return p
		}
		// Up to two separators before the next group: " ", "-", ".", " (", ") ".
		k := e
		for k < len(t) && k-e < 2 && strings.IndexByte(" -.()", t[k]) >= 0 {
			k++
		}
		if k == e || k >= len(t) || !isDigit(t[k]) {
			break
		}
		i = k
	}
	if n < 10 || !numberEnds(t, end) {
		return p
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

// ---- prompt_injection ---------------------------------------------------

// A prose word is a run of letters, digits, apostrophes and non-ASCII bytes.
func proseByte(c byte) bool { return isAlnum(c) || c == '\'' || c >= 0x80 }

// nextWord returns the word after p (its first 64 bytes), skipping up to
// 64 bytes of white space, or ok false.
func nextWord(t string, p int) (ws, we int, ok bool) {
	i := p
	for i < len(t) && i-p <= 64 && isSpace(t[i]) {
		i++
	}
	if i-p > 64 || i >= len(t) || !proseByte(t[i]) {
		return 0, 0, false
	}
	j := i
	for j < len(t) && j-i < 64 && proseByte(t[j]) {
		j++
	}
	return i, j, true
}

// prevWord returns the word before p (the end of a word or white space).
func prevWord(t string, p int) (ws, we int, ok bool) {
	j := p
	for j > 0 && p-j <= 64 && isSpace(t[j-1]) {
		j--
	}
	if p-j > 64 || j == 0 || !proseByte(t[j-1]) {
		return 0, 0, false
	}
	i := j
	for i > 0 && j-i < 64 && proseByte(t[i-1]) {
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

// override matches ignore/disregard/forget/override [all] [the] previous
// instructions, and ignore everything above.
func (s *scanner) override(w, n int) {
	t := s.text
	if !wordEnds(t, w+n) {
		return
	}
	p, strong, weak := w+n, false, false
	prev := ""
	for range 6 {
		ws, we, ok := nextWord(t, p)
		if !ok {
			return
		}
		word := t[ws:we]
		switch {
		case oneOfFold(word, overrideObjects...):
			if strong || (weak && oneOfFold(word, pluralObjects...)) {
				s.add(kOverridePhrase, w, we)
			}
			return
		case equalFold(prev, "everything") && oneOfFold(word, "above", "earlier", "previously"):
			s.add(kOverridePhrase, w, we)
			return
		case oneOfFold(word, overrideQualifiers...):
			strong = true
		case oneOfFold(word, weakQualifiers...):
			weak = true
		case oneOfFold(word, overrideFillers...), equalFold(word, "everything"):
		default:
			return
		}
		p, prev = we, word
	}
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

// ---- shell_injection -----------------------------------------------------

// dangerous commands: at a command position after ;, &&, || or | they are
// a chained_command.
var dangerousCommands = []string{"rm", "curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "bash", "sh",
	"zsh", "dash", "ksh", "chmod", "chown", "mkfs", "dd", "shutdown", "reboot", "poweroff", "halt", "killall", "eval"}

// command matches the shell commands that are findings at a command
// position.
func (s *scanner) command(w int, name string) {
	t := s.text
	e := w + len(name)
	if e < len(t) {
		c := t[e]
		if !(isSpace(c) || strings.IndexByte(";|&)`'\"", c) >= 0 || (name == "mkfs" && c == '.')) {
			return
		}
	}
	start := w
	if w > 0 {
		switch c := t[w-1]; {
		case c == '/':
			// /bin/rm: the command position is that of the path.
			for start > 0 && w-start < 64 && (isIdent(t[start-1]) || strings.IndexByte("/.-", t[start-1]) >= 0) {
				start--
			}
			if t[start] != '/' {
				return
			}
		case isIdent(c) || c == '.' || c == '-' || c == '$' || c == '=':
			return
		}
	}
	if !mayBeCommand(t, start) {
		return
	}
	sep, sepAt, ok := s.sh.commandAt(t, start)
	if !ok {
		return
	}
	if name == "mkfs" {
		e = run(t, e, clsAlnum, 16) // mkfs.ext4
		for e < len(t) && t[e] == '.' {
			e = run(t, e+1, clsAlnum, 16)
		}
	}
	args := argsEnd(t, e, s.sh.cmdQuote)
	a := t[e:args]
	if f := strings.TrimLeft(a, " \t"); f != "" && (f[0] == '=' || strings.HasPrefix(f, "!=") || strings.HasPrefix(f, ":=") || strings.HasPrefix(f, "+=")) {
		return // a variable in code: nc != '/', sh := …
	}
	switch name {
	case "rm":
		if destructiveRM(a) {
			s.add(kDestructiveRM, w, args)
			return
		}
	case "mkfs":
		s.add(kDiskWipe, w, args)
		return
	case "nc", "ncat", "netcat":
		if hasFlag(a, 'e') || hasFlag(a, 'c') {
			s.add(kReverseShell, w, args)
			return
		}
	case "sh", "bash", "zsh", "dash", "ksh":
		if sep == '|' && s.sh.shellContext(t) {
			s.add(kPipeToShell, sepAt, e)
			return
		}
		if hasFlag(a, 'i') && (strings.Contains(a, ">&") || strings.Contains(a, "&>")) {
			s.add(kReverseShell, w, args)
			return
		}
	case "chmod":
		if worldWritable(a) {
			s.add(kWorldWritable, w, args)
			return
		}
	case "sudo":
		if start == w && (sep == '\n' || s.sh.shellContext(t)) {
			s.add(kSudo, w, e)
		}
		return
	}
	if (sep == ';' || sep == '&' || sep == 'o' || sep == '|') && s.sh.shellContext(t) {
		for _, d := range dangerousCommands {
			if name == d {
				s.add(kChainedCommand, sepAt, e)
				return
			}
		}
	}
}

// argsEnd returns the end of the arguments of a command whose name ends at
// e: the next ;, &, |, newline, backtick or ) outside quotes, or the
// closing quote of the -c argument the command is in, without trailing
// blanks.
func argsEnd(t string, e int, cmdQuote byte) int {
	i := e
	var q byte
loop:
	for ; i < len(t) && i-e < 1024; i++ {
		c := t[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			} else if c == '\n' {
				break loop
			}
		case cmdQuote != 0 && c == cmdQuote:
			break loop
		case c == '"' || c == '\'':
			q = c
		case c == '&' && i > e && (t[i-1] == '>' || t[i-1] == '<'):
			// >& and <& redirect
		case c == '&' && i+1 < len(t) && t[i+1] == '>':
			// &> redirect
		case strings.IndexByte(";&|\n`)", c) >= 0:
			break loop
		}
	}
	for i > e && isSpace(t[i-1]) {
		i--
	}
	return i
}

// fields calls f with each blank-separated field of a, quotes removed.
func eachField(a string, f func(string) bool) {
	for len(a) > 0 {
		a = strings.TrimLeft(a, " \t")
		if a == "" {
			return
		}
		i := strings.IndexAny(a, " \t")
		if i < 0 {
			i = len(a)
		}
		field := strings.Trim(a[:i], `"'`)
		a = a[i:]
		if field != "" && !f(field) {
			return
		}
	}
}

func hasFlag(a string, flag byte) bool {
	found := false
	eachField(a, func(f string) bool {
		if len(f) > 1 && f[0] == '-' && f[1] != '-' && strings.IndexByte(f[1:], flag) >= 0 {
			found = true
		}
		return !found
	})
	return found
}

// destructiveRM reports whether rm's arguments a are recursive and name a
// root-like target, or pass --no-preserve-root.
func destructiveRM(a string) bool {
	recursive, noPreserve, target := false, false, false
	eachField(a, func(f string) bool {
		switch {
		case f == "--recursive":
			recursive = true
		case f == "--no-preserve-root":
			noPreserve = true
		case strings.HasPrefix(f, "--"):
		case len(f) > 1 && f[0] == '-':
			if strings.ContainsAny(f[1:], "rR") {
				recursive = true
			}
		case rootLike(f):
			target = true
		}
		return true
	})
	return recursive && (target || noPreserve)
}

// rootLike reports whether a path names /, ~, *, $HOME or a top-level
// system directory (or everything in one).
func rootLike(p string) bool {
	p = strings.TrimSuffix(strings.TrimSuffix(p, "*"), "/")
	switch p {
	case "", "~", ".", "..", "$HOME", "${HOME}", ".*":
		return true
	}
	if p[0] != '/' || strings.Count(p, "/") != 1 {
		return false
	}
	switch p[1:] {
	case "bin", "boot", "dev", "etc", "home", "lib", "lib64", "opt", "proc", "root", "sbin", "srv", "sys", "usr", "var":
		return true
	}
	return false
}

// worldWritable reports whether chmod's arguments a give everyone every
// permission on a root-like target.
func worldWritable(a string) bool {
	mode, target := false, false
	eachField(a, func(f string) bool {
		switch {
		case f == "777" || f == "0777" || f == "a+rwx" || f == "ugo+rwx" || f == "a=rwx" || f == "o+rwx":
			mode = true
		case f[0] == '-':
		case rootLike(f):
			target = true
		}
		return true
	})
	return mode && target
}

// dev matches /dev/tcp/ and /dev/udp/ (reverse shells) and a redirect or
// dd of= into a disk device.
func (s *scanner) dev(w int) {
	t := s.text
	if w == 0 || t[w-1] != '/' || w+4 > len(t) || t[w+3] != '/' {
		return
	}
	slash := w - 1
	rest := t[w+4:]
	if strings.HasPrefix(rest, "tcp/") || strings.HasPrefix(rest, "udp/") {
		e := w + 8
		e = run(t, e, clsAlnum|clsDash|clsPlusSlash, 256)
		for e < len(t) && (t[e] == '.' || t[e] == ':' || isAlnum(t[e]) || t[e] == '/') && e-w < 256 {
			e++
		}
		s.add(kReverseShell, slash, e)
		return
	}
	n := diskDevice(rest)
	if n == 0 {
		return
	}
	e := w + 4 + n
	j := slash
	for j > 0 && isBlank(t[j-1]) {
		j--
	}
	switch {
	case j > 0 && t[j-1] == '>':
		s.add(kDiskWipe, j-1, e)
	case slash >= 3 && t[slash-3:slash] == "of=":
		s.add(kDiskWipe, slash-3, e)
	}
}

// diskDevice returns the length of the disk device name at the start of d
// (sda, nvme0n1, mmcblk0, …), or 0.
func diskDevice(d string) int {
	for _, p := range []string{"sd", "hd", "vd", "xvd"} {
		if strings.HasPrefix(d, p) && len(d) > len(p) && d[len(p)]-'a' < 26 {
			return run(d, 0, clsAlnum, 32)
		}
	}
	for _, p := range []string{"nvme", "mmcblk", "disk"} {
		if strings.HasPrefix(d, p) && len(d) > len(p) && isDigit(d[len(p)]) {
			return run(d, 0, clsAlnum, 32)
		}
	}
	return 0
}

// dollarParen matches a command substitution $(command).
func (s *scanner) dollarParen(i int) {
	t := s.text
	if i+2 >= len(t) || t[i+1] != '(' {
		return
	}
	end := commandName(t, skipBlanks(t, i+2))
	if end < 0 {
		return // $((arithmetic)), $(), jQuery's $(this) and $("#id"), …
	}
	// The span runs to the matching parenthesis, when it closes within 256
	// bytes on the same line, else over the command's name.
	for depth, e := 1, i+2; e < len(t) && e-i < 256 && t[e] != '\n'; e++ {
		if t[e] == '(' {
			depth++
		} else if t[e] == ')' {
			if depth--; depth == 0 {
				end = e + 1
				break
			}
		}
	}
	if i >= s.dollarNext {
		s.add(kCommandSubstitution, i, end)
		s.dollarNext = end // a substitution nested in this one is part of it
	}
}

// commandName returns the end of the name of a command at b, or -1 when
// what is at b does not look like one: a path, or lower-case letters,
// digits, - and _ followed by arguments, or a common command alone.
func commandName(t string, b int) int {
	e := b
	for e < len(t) && e-b < 64 && (class[t[e]]&(clsLower|clsDigit|clsUnder|clsDash) != 0 || t[e] == '/' || t[e] == '.' || t[e] == '~') {
		e++
	}
	if e == b || (e < len(t) && !isBlank(t[e]) && t[e] != ')') {
		return -1
	}
	name := t[b:e]
	switch {
	case name[0] == '/' || name[0] == '.' || name[0] == '~':
		return e // a path
	case !isLetter(name[0]) || strings.ContainsAny(name, "./"):
		return -1 // opts.codeEl, imm/2
	case e < len(t) && t[e] != ')' || slices.Contains(substitutionCommands, name):
		// A lone word, $(name), is as likely jQuery's $(output): it must
		// be a common command.
		return e
	}
	return -1
}

// backtick matches a command substitution `command` on a line that reads
// as shell, and returns the offset to go on from.
func (s *scanner) backtick(i int) int {
	t := s.text
	if i+1 < len(t) && t[i+1] == '`' {
		// `` or ```: Markdown code, skip the run.
		j := i
		for j < len(t) && t[j] == '`' {
			j++
		}
		return j - 1
	}
	j := indexByte(t, i+1, '`')
	if j < 0 {
		return len(t)
	}
	if nl := strings.IndexByte(t[i:j], '\n'); nl >= 0 {
		return i + nl // not on one line: start again on the next
	}
	if !slices.Contains(substitutionCommands, firstField(t[i+1:j])) {
		return j
	}
	if s.tickLineIsShell(i) {
		s.add(kCommandSubstitution, i, j+1)
	}
	return j
}

// firstField returns the text of a up to the first blank or ).
func firstField(a string) string {
	a = strings.TrimLeft(a, " \t")
	if i := strings.IndexAny(a, " \t)"); i >= 0 {
		return a[:i]
	}
	return a
}

// tickLineIsShell is shellLine for the line holding the backtick at i;
// backticks come in order, so it remembers the line it last looked at.
func (s *scanner) tickLineIsShell(i int) bool {
	t := s.text
	if i < s.tickSeen {
		return shellLine(t, lineStart(t, i))
	}
	if k := strings.LastIndexByte(t[s.tickSeen:i], '\n'); k >= 0 || s.tickSeen == 0 {
		s.tickLine = s.tickSeen + k + 1
		s.tickShell = 0
	}
	s.tickSeen = i
	if s.tickShell == 0 {
		s.tickShell = -1
		if shellLine(t, s.tickLine) {
			s.tickShell = 1
		}
	}
	return s.tickShell > 0
}

// lineStart returns the start of the line holding i, looking back at most
// 4096 bytes.
func lineStart(t string, i int) int {
	lo := max(0, i-4096)
	if k := strings.LastIndexByte(t[lo:i], '\n'); k >= 0 {
		return lo + k + 1
	}
	return lo
}

// shellWords begin a line that reads as shell. Control keywords (if, for,
// while) are left out: lines of code begin with them too.
var shellWords = []string{"echo", "printf", "cat", "ls", "cd", "export", "eval", "exec", "do", "then", "set",
	"unset", "local", "readonly", "declare", "test", "source", "alias", "exit", "sudo", "doas", "su", "env", "nohup", "nice", "time", "watch", "xargs",
	"sh", "bash", "zsh", "dash", "ksh", "fish", "rm", "cp", "mv", "ln", "mkdir", "rmdir", "touch", "chmod",
	"chown", "chgrp", "dd", "mkfs", "mount", "umount", "tar", "zip", "unzip", "gzip", "gunzip", "rsync",
	"curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "ssh", "scp", "sftp", "ftp", "ping", "dig",
	"nslookup", "host", "whoami", "id", "uname", "hostname", "ps", "kill", "killall", "pkill", "grep", "sed",
	"awk", "find", "head", "tail", "tee", "wc", "base64", "openssl", "gpg", "jq", "crontab", "systemctl",
	"service", "shutdown", "reboot", "python", "python3", "perl", "ruby", "node", "php", "git", "docker",
	"kubectl", "make", "go", "npm", "npx", "yarn", "pip", "pip3", "apt", "apt-get", "yum", "dnf", "apk",
	"brew", "cargo", "mysql", "psql", "sqlite3", "printenv", "which"}

// substitutionCommands start the commands commonly run in a `…` command
// substitution (and rarely a Go raw string or a Markdown code span).
var substitutionCommands = []string{"id", "whoami", "uname", "hostname", "cat", "ls", "pwd", "date", "echo",
	"printf", "which", "curl", "wget", "nc", "bash", "sh", "python", "python3", "perl", "ruby", "php", "node",
	"base64", "head", "tail", "grep", "sed", "awk", "cut", "tr", "find", "env", "printenv", "ps", "git",
	"dig", "nslookup", "ifconfig", "ip", "rm", "cp", "mv", "chmod", "sudo", "expr", "eval", "sleep", "xargs",
	"openssl", "xxd", "od", "dirname", "basename", "mktemp", "nproc", "getent", "tee", "wc", "sort"}

// shellLine reports whether the line starting at ls reads as shell: its
// first word (after a "$ " prompt) is a shell command or keyword, an
// assignment or the path of a program.
func shellLine(t string, ls int) bool {
	p := skipBlanks(t, ls)
	if strings.HasPrefix(t[p:], "$ ") {
		p = skipBlanks(t, p+2)
	}
	e := p
	for e < len(t) && e-p < 64 && !isSpace(t[e]) && strings.IndexByte("`;|&()", t[e]) < 0 {
		e++
	}
	first := t[p:e]
	switch {
	case first == "":
		return false
	case strings.HasPrefix(first, "./"), len(first) > 1 && first[0] == '/' && isLetter(first[1]):
		return true
	case assignment(first):
		return true
	}
	return slices.Contains(shellWords, first)
}

// forkBomb matches NAME(){ NAME|NAME& };NAME around the '|' at i.
func (s *scanner) forkBomb(i int) {
	t := s.text
	// NAME|NAME&, blanks allowed around the bar.
	a := i
	for a > 0 && isBlank(t[a-1]) {
		a--
	}
	ns := a
	for ns > 0 && a-ns < 32 && (t[ns-1] == ':' || isIdent(t[ns-1])) {
		ns--
	}
	name := t[ns:a]
	if name == "" {
		return
	}
	b := skipBlanks(t, i+1)
	if !strings.HasPrefix(t[b:], name) {
		return
	}
	b = skipBlanks(t, b+len(name))
	if b >= len(t) || t[b] != '&' {
		return
	}
	// NAME(){ or NAME() { before, within 16 bytes.
	lo := max(0, ns-16-len(name))
	def := strings.LastIndex(t[lo:ns], "()")
	if def < 0 || lo+def < len(name) || t[lo+def-len(name):lo+def] != name {
		return
	}
	start := lo + def - len(name)
	if start > 0 && (isIdent(t[start-1]) || t[start-1] == ':') {
		return
	}
	brace := skipBlanks(t, start+len(name)+2)
	if brace >= ns || t[brace] != '{' {
		return
	}
	end := b + 1
	// The optional "};NAME" that runs it.
	if k := skipBlanks(t, end); k < len(t) && t[k] == '}' {
		end = k + 1
		if k = skipBlanks(t, end); k < len(t) && t[k] == ';' {
			end = k + 1
			if k = skipBlanks(t, end); strings.HasPrefix(t[k:], name) {
				end = k + len(name)
			}
		}
	}
	s.add(kForkBomb, start, end)
}

// shellLexer follows the shell structure of the text, lazily and forward
// only, to tell whether an offset is at a command position.
type shellLexer struct {
	pos      int  // the text before pos has been lexed
	quote    byte // the open plain quote: 0, '\'' or '"'
	cmdQuote byte // the open quote of a -c or eval argument, which holds a command line
	inTick   bool // inside `…` on a shell line
	line     int  // start of the current line
	lineShl  int8 // whether the line reads as shell: 0 unknown, 1 yes, -1 no

	cmdOK    bool // cmdStart is at a command position
	cmdStart int  // just after the last separator
	sep      byte // the last separator: '\n' (or start), ';', '&', 'o' (||), '|', '(', '{', '`', 'q' (-c quote)
	sepAt    int  // where it starts

	// The first field after cmdStart that is not a command prefix, once
	// found (badFor is the cmdStart it belongs to).
	badFor, badAt int
}

// commandAt reports whether c is at a command position, with the
// separator that put it there and where that starts.
func (l *shellLexer) commandAt(t string, c int) (sep byte, sepAt int, ok bool) {
	l.advance(t, c)
	if l.quote != 0 || !l.cmdOK {
		return 0, 0, false
	}
	if l.badFor == l.cmdStart && l.badAt < c {
		return 0, 0, false
	}
	if c-l.cmdStart > 256 {
		return 0, 0, false
	}
	if n := prefixesEnd(t[l.cmdStart:c]); n >= 0 {
		l.badFor, l.badAt = l.cmdStart, l.cmdStart+n
		return 0, 0, false
	}
	return l.sep, l.sepAt, true
}

// shellContext reports whether the current command is in shell for sure:
// inside a -c argument or a substitution, or on a line that reads as
// shell. A chain (;, &&, ||, |) elsewhere is as likely code or prose:
// "a || sh" in a build constraint.
func (l *shellLexer) shellContext(t string) bool {
	return l.cmdQuote != 0 || l.inTick || l.lineIsShell(t)
}

// lineIsShell is shellLine for the current line, remembered.
func (l *shellLexer) lineIsShell(t string) bool {
	if l.lineShl == 0 {
		l.lineShl = -1
		if shellLine(t, l.line) {
			l.lineShl = 1
		}
	}
	return l.lineShl > 0
}

func (l *shellLexer) reset(from int) {
	*l = shellLexer{pos: from, line: from, cmdOK: true, cmdStart: from, sep: '\n', sepAt: max(from-1, 0), badFor: -1}
}

func (l *shellLexer) separate(kind byte, at, next int) {
	l.cmdOK, l.sep, l.sepAt, l.cmdStart = true, kind, at, next
}

// advance lexes the text up to c. The state starts afresh on every line,
// so it skips to the last line break before c, and lexes at most the 4096
// bytes before c: the work stays linear in the text.
func (l *shellLexer) advance(t string, c int) {
	for p := l.pos; p < c; {
		k := strings.IndexByte(t[p:c], '\n')
		if k < 0 {
			break
		}
		p += k + 1
		l.reset(p)
	}
	if c-l.pos > 4096 {
		l.reset(c - 4096)
	}
	i := l.pos
	for ; i < c; i++ {
		b := t[i]
		switch {
		case b == '\n':
			l.reset(i + 1)
			continue
		case l.quote == '\'':
			if b == '\'' {
				l.quote = 0
			}
		case l.quote == '"':
			if b == '\\' {
				i++
			} else if b == '"' {
				l.quote = 0
			}
		case b == '\\':
			i++
		case l.cmdQuote != 0 && b == l.cmdQuote:
			l.cmdQuote = 0
			l.cmdOK = false
		case b == '"' || b == '\'':
			if l.cmdQuote == 0 && commandArgument(t, i) {
				l.cmdQuote = b
				l.separate('q', i, i+1)
			} else {
				l.quote = b
			}
		case b == ';':
			l.separate(';', i, i+1)
		case b == '&':
			switch {
			case i+1 < len(t) && t[i+1] == '&':
				l.separate('&', i, i+2)
				i++
			case i > 0 && (t[i-1] == '>' || t[i-1] == '<'), i+1 < len(t) && t[i+1] == '>':
				// a redirect: >&, <&, &>
			default:
				l.separate('&', i, i+1)
			}
		case b == '|':
			if i+1 < len(t) && t[i+1] == '|' {
				l.separate('o', i, i+2)
				i++
			} else {
				l.separate('|', i, i+1)
			}
		case b == '(' || b == '{':
			l.separate(b, i, i+1)
		case b == ')':
			l.cmdOK = false
		case b == '`':
			if l.inTick {
				l.inTick = false
				l.cmdOK = false
			} else if l.lineIsShell(t) {
				l.inTick = true
				l.separate('`', i, i+1)
			}
		}
	}
	l.pos = max(l.pos, i)
}

// commandArgument reports whether the quote at i opens the argument of -c
// (sh -c, bash -lc, su -c) or eval.
func commandArgument(t string, i int) bool {
	j := i
	for j > 0 && isBlank(t[j-1]) {
		j--
	}
	if j == i {
		return false
	}
	k := j
	for k > 0 && j-k < 16 && !isSpace(t[k-1]) {
		k--
	}
	f := t[k:j]
	return f == "eval" || (len(f) >= 2 && f[0] == '-' && f[1] != '-' && f[len(f)-1] == 'c')
}

// mayBeCommand is a quick look back from c for a command position: only
// command prefixes, their options and assignments may stand between c and
// the start, a line break, a separator or a quote. It spares the lexer
// every command word used in prose ("add a dd element").
func mayBeCommand(t string, c int) bool {
	j := c
	for range 8 {
		for j > 0 && isBlank(t[j-1]) {
			j--
		}
		if j == 0 || strings.IndexByte("\n\r;&|({`\"'", t[j-1]) >= 0 {
			return true
		}
		k := j
		for k > 0 && j-k < 128 && !isSpace(t[k-1]) {
			k--
		}
		if f := t[k:j]; f == "" || !slices.Contains(commandPrefixes, f) && f[0] != '-' && !assignment(f) {
			return false // "" after a form feed
		}
		j = k
	}
	return false
}

// commandPrefixes may stand before a command at a command position.
var commandPrefixes = []string{"sudo", "doas", "env", "exec", "nohup", "nice", "time", "command", "builtin",
	"then", "do", "else", "elif", "if", "while", "until", "!", "$", "xargs", "{"}

// prefixesEnd returns the offset in seg of the first field that is not a
// command prefix, an option after one or a NAME=value assignment, or -1
// when there is none.
func prefixesEnd(seg string) int {
	afterPrefix := false
	for i := 0; i < len(seg); {
		if isBlank(seg[i]) {
			i++
			continue
		}
		j := i
		for j < len(seg) && !isBlank(seg[j]) {
			j++
		}
		f := seg[i:j]
		switch {
		case slices.Contains(commandPrefixes, f):
			afterPrefix = true
		case afterPrefix && f[0] == '-':
		case assignment(f):
		default:
			return i
		}
		i = j
	}
	return -1
}

func assignment(f string) bool {
	eq := strings.IndexByte(f, '=')
	return eq > 0 && !isDigit(f[0]) && run(f, 0, clsAlnum|clsUnder, 64) == eq
}

// ---- path_traversal ------------------------------------------------------

// pathByte reports whether c can be part of a file name.
func pathByte(c byte) bool {
	return isIdent(c) || c == '.' || c == '-' || c == '~' || c >= 0x80
}

// dotdot matches a ".." path segment at p next to a / or \, and the run of
// ../ that follows it.
func (s *scanner) dotdot(p int) {
	t := s.text
	if p < s.dotNext || p+2 > len(t) || (p > 0 && t[p-1] == '.') || (p+2 < len(t) && t[p+2] == '.') {
		return
	}
	var prev, next byte
	if p > 0 {
		prev = t[p-1]
	}
	if p+2 < len(t) {
		next = t[p+2]
	}
	sepBefore := prev == '/' || prev == '\\'
	sepAfter := next == '/' || next == '\\'
	if !sepBefore && !sepAfter || (!sepBefore && p > 0 && pathByte(prev)) || (!sepAfter && p+2 < len(t) && pathByte(next)) {
		return
	}
	if n, enc := traversalUnit(t, p); n > 0 && enc {
		return // ..%2f: an encoded_dotdot
	}
	if prev == '\\' && !sepAfter && p+2 < len(t) && !isSpace(next) && strings.IndexByte("\"'`,;", next) < 0 {
		return // \..* in a regular expression
	}
	e := p + 2
	if sepAfter {
		e++
		for e+3 <= len(t) && t[e] == '.' && t[e+1] == '.' && (t[e+2] == '/' || t[e+2] == '\\') {
			e += 3
		}
	}
	s.dotNext = e
	s.add(kDotDot, p, e)
}

// encodedDot returns the length of a dot at i, literal or percent-encoded
// (%2e, %252e, %c0%ae, %u002e), and whether it was encoded.
func encodedDot(t string, i int) (int, bool) {
	switch {
	case i >= len(t):
		return 0, false
	case t[i] == '.':
		return 1, false
	case hasPrefixFold(t[i:], "%2e"):
		return 3, true
	case hasPrefixFold(t[i:], "%252e"):
		return 5, true
	case hasPrefixFold(t[i:], "%c0%ae"):
		return 6, true
	case hasPrefixFold(t[i:], "%u002e"):
		return 6, true
	}
	return 0, false
}

// encodedSlash is encodedDot for / and \.
func encodedSlash(t string, i int) (int, bool) {
	switch {
	case i >= len(t):
		return 0, false
	case t[i] == '/' || t[i] == '\\':
		return 1, false
	case hasPrefixFold(t[i:], "%2f"), hasPrefixFold(t[i:], "%5c"):
		return 3, true
	case hasPrefixFold(t[i:], "%252f"), hasPrefixFold(t[i:], "%255c"):
		return 5, true
	case hasPrefixFold(t[i:], "%c0%af"), hasPrefixFold(t[i:], "%c1%9c"):
		return 6, true
	case hasPrefixFold(t[i:], "%u2215"), hasPrefixFold(t[i:], "%u002f"):
		return 6, true
	}
	return 0, false
}

// traversalUnit returns the length of dot, dot, slash at i (each literal or
// encoded), and whether any part was encoded.
func traversalUnit(t string, i int) (int, bool) {
	a, ea := encodedDot(t, i)
	if a == 0 {
		return 0, false
	}
	b, eb := encodedDot(t, i+a)
	if b == 0 {
		return 0, false
	}
	c, ec := encodedSlash(t, i+a+b)
	if c == 0 {
		return 0, false
	}
	return a + b + c, ea || eb || ec
}

// encodedDotDot matches a percent-encoded ../ that involves the '%' at q.
func (s *scanner) encodedDotDot(q int) {
	t := s.text
	for st := max(q-2, s.pctNext, 0); st <= q; st++ {
		if st > 0 && (isAlnum(t[st-1]) || t[st-1] == '.') && t[st] == '.' {
			continue
		}
		n, enc := traversalUnit(t, st)
		if n == 0 || !enc {
			continue
		}
		e := st + n
		for {
			m, _ := traversalUnit(t, e)
			if m == 0 {
				break
			}
			e += m
		}
		s.pctNext = e
		s.add(kEncodedDotDot, st, e)
		return
	}
}

// sensitiveFile matches the sensitive system files named after a trigger
// word: /etc/passwd, ~/.ssh/…, id_rsa, /proc/self/environ, ~/.aws/credentials,
// \Windows\System32\config\SAM.
func (s *scanner) sensitiveFile(act action, w int) {
	t := s.text
	var prev byte
	if w > 0 {
		prev = t[w-1]
	}
	pathEnd := func(i int) int { // the rest of the path, up to 256 bytes
		j := i
		for j < len(t) && j-i < 256 && (pathByte(t[j]) || t[j] == '/') && t[j] < 0x80 {
			j++
		}
		return j
	}
	switch act {
	case actEtc:
		if prev != '/' || !strings.HasPrefix(t[w+3:], "/") {
			return
		}
		for _, f := range []string{"passwd", "shadow", "gshadow", "sudoers", "master.passwd"} {
			if e := w + 4 + len(f); strings.HasPrefix(t[w+4:], f) && (e == len(t) || !pathByte(t[e])) {
				s.add(kSensitiveFile, w-1, e)
				return
			}
		}
	case actSSH, actAWSDir:
		name := "ssh"
		if act == actAWSDir {
			name = "aws"
		}
		e := w + len(name)
		if prev != '.' || e >= len(t) || t[e] != '/' {
			return
		}
		if act == actAWSDir && !strings.HasPrefix(t[e+1:], "credentials") && !strings.HasPrefix(t[e+1:], "config") {
			return
		}
		start := w - 1
		if start >= 2 && t[start-2:start] == "~/" {
			start -= 2
		} else if start >= 1 && t[start-1] != '/' && pathByte(t[start-1]) {
			return // name.ssh/
		}
		s.add(kSensitiveFile, start, pathEnd(e+1))
	case actIDKey:
		if w > 0 && (isAlnum(prev) || prev == '.') || !strings.HasPrefix(t[w:], "id_") {
			return
		}
		for _, k := range []string{"rsa", "dsa", "ecdsa", "ed25519"} {
			e := w + 3 + len(k)
			if strings.HasPrefix(t[w+3:], k) && (e == len(t) || !(isIdent(t[e]) || t[e] == '.' || t[e] == '-')) {
				s.add(kSensitiveFile, w, e)
				return
			}
		}
	case actProc:
		if prev != '/' || !strings.HasPrefix(t[w+4:], "/") {
			return
		}
		p := w + 5
		switch {
		case strings.HasPrefix(t[p:], "self/"):
			p += 5
		case digitsAt(t, p, 1):
			p = run(t, p, clsDigit, 12)
			if p >= len(t) || t[p] != '/' {
				return
			}
			p++
		default:
			return
		}
		for _, f := range []string{"environ", "mem", "cmdline"} {
			if e := p + len(f); strings.HasPrefix(t[p:], f) && wordEnds(t, e) {
				s.add(kSensitiveFile, w-1, e)
				return
			}
		}
	case actWindows:
		if prev != '\\' && prev != '/' {
			return
		}
		p := w + len("windows")
		for _, part := range []string{"system32", "config"} {
			if p >= len(t) || (t[p] != '\\' && t[p] != '/') || !hasPrefixFold(t[p+1:], part) {
				return
			}
			p += 1 + len(part)
		}
		if p >= len(t) || (t[p] != '\\' && t[p] != '/') {
			return
		}
		p++
		for _, f := range []string{"sam", "system", "security"} {
			if e := p + len(f); hasPrefixFold(t[p:], f) && (e == len(t) || !pathByte(t[e])) {
				start := w - 1
				if start >= 2 && t[start-1] == ':' && isLetter(t[start-2]) {
					start -= 2
				}
				s.add(kSensitiveFile, start, e)
				return
			}
		}
	}
}

// ---- sql_destructive -----------------------------------------------------

// sqlStatement remembers the last statement scanned for its end and its
// last WHERE, so that keywords inside one statement share one scan.
type sqlStatement struct {
	from, end int
	lastWhere int // -1 when the statement has none
	lastDrop  int // the last DROP keyword, or -1
}

// statement scans the statement that runs through p up to its end (the
// next ; outside quotes, or the end of the text), noting its last WHERE
// and its last DROP.
func (s *scanner) statement(p int) *sqlStatement {
	st := &s.sql
	if st.end > 0 && p >= st.from && p < st.end {
		return st
	}
	t := s.text
	st.from, st.lastWhere, st.lastDrop = p, -1, -1
	var q byte
	i := p
	for ; i < len(t); i++ {
		c := t[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '\'' || c == '"' || c == '`':
			q = c
		case c == ';':
			st.end = i
			return st
		case (c|0x20 == 'w' || c|0x20 == 'd') && (i == 0 || !isIdent(t[i-1])):
			if hasPrefixFold(t[i:], "where") && wordEnds(t, i+5) && !tautology(t, i+5) {
				st.lastWhere = i
			} else if hasPrefixFold(t[i:], "drop") && wordEnds(t, i+4) {
				st.lastDrop = i
			}
		}
	}
	st.end = len(t)
	return st
}

// tautology reports whether the WHERE clause at p is 1=1 or TRUE.
func tautology(t string, p int) bool {
	p = sqlSkip(t, p)
	if hasPrefixFold(t[p:], "true") && wordEnds(t, p+4) {
		return true
	}
	if !strings.HasPrefix(t[p:], "1") {
		return false
	}
	p = sqlSkip(t, p+1)
	if !strings.HasPrefix(t[p:], "=") {
		return false
	}
	p = sqlSkip(t, p+1)
	return strings.HasPrefix(t[p:], "1") && wordEnds(t, p+1)
}

// sqlSkip skips white space and comments (/* … */, -- …). A comment that
// does not end within 4096 bytes runs to the end of the text.
func sqlSkip(t string, p int) int {
	for p < len(t) {
		switch {
		case isSpace(t[p]):
			p++
		case strings.HasPrefix(t[p:], "/*"):
			k := strings.Index(t[p+2:min(len(t), p+4096)], "*/")
			if k < 0 {
				return len(t)
			}
			p += 2 + k + 2
		case strings.HasPrefix(t[p:], "--"):
			k := strings.IndexByte(t[p:min(len(t), p+4096)], '\n')
			if k < 0 {
				return len(t)
			}
			p += k + 1
		default:
			return p
		}
	}
	return p
}

// sqlWord returns the end of the SQL word at p, or p.
func sqlWord(t string, p int) int {
	e := p
	for e < len(t) && (isIdent(t[e]) || t[e] == '$') {
		e++
	}
	return e
}

// sqlKeywordAt reports whether the keyword (lower case) is at p (after
// white space and comments), and returns the offset after it.
func sqlKeywordAt(t string, p int, words ...string) (int, string, bool) {
	p = sqlSkip(t, p)
	e := sqlWord(t, p)
	for _, w := range words {
		if equalFold(t[p:e], w) {
			return e, w, true
		}
	}
	return p, "", false
}

// sqlName returns the end of the (possibly qualified, possibly quoted)
// object name at p, or p.
func sqlName(t string, p int) int {
	p = sqlSkip(t, p)
	for {
		var e int
		switch {
		case p < len(t) && (t[p] == '"' || t[p] == '`' || t[p] == '['):
			close := t[p]
			if close == '[' {
				close = ']'
			}
			k := run(t, p+1, clsAlnum|clsUnder|clsDash, 128)
			if k == p+1 || k >= len(t) || t[k] != close {
				return p
			}
			e = k + 1
		default:
			e = sqlWord(t, p)
			if e == p {
				return p
			}
		}
		if e < len(t) && t[e] == '.' && e+1 < len(t) && (isIdent(t[e+1]) || t[e+1] == '"' || t[e+1] == '`' || t[e+1] == '[') {
			p = e + 1
			continue
		}
		return e
	}
}

// statementStart reports whether the keyword at w begins a statement.
func statementStart(t string, w int) bool {
	j := w
	for j > 0 {
		if isBlank(t[j-1]) {
			j--
			continue
		}
		if j >= 2 && t[j-2:j] == "*/" {
			lo := max(0, j-2-256)
			k := strings.LastIndex(t[lo:j-2], "/*")
			if k < 0 {
				return false
			}
			j = lo + k
			continue
		}
		break
	}
	if j == 0 {
		return true
	}
	switch t[j-1] {
	case '\n', '\r', ';', '(', ')', '"', '\'', '`':
		return true
	}
	k := j
	for k > 0 && j-k < 8 && isLetter(t[k-1]) {
		k--
	}
	return (k == 0 || !isIdent(t[k-1])) && oneOfFold(t[k:j], "begin", "then", "else", "do")
}

// sqlKeyword matches the destructive statements that start with word.
// The grammar after the keyword is checked first; only a statement that
// reads as SQL is scanned to its end.
func (s *scanner) sqlKeyword(w int, word string) {
	t := s.text
	e := w + len(word)
	if e >= len(t) || !(isSpace(t[e]) || strings.HasPrefix(t[e:], "/*") || strings.HasPrefix(t[e:], "--")) ||
		(w > 0 && (isIdent(t[w-1]) || t[w-1] == '.' || t[w-1] == '$')) || !statementStart(t, w) {
		return
	}
	var k kind
	switch word {
	case "drop":
		p, obj, ok := sqlKeywordAt(t, e, "table", "database", "schema", "view", "index", "sequence", "function",
			"procedure", "trigger", "type", "user", "role", "materialized", "temporary", "temp")
		if !ok {
			return
		}
		if obj == "materialized" || obj == "temporary" || obj == "temp" {
			if _, _, ok = sqlKeywordAt(t, p, "view", "table"); !ok {
				return
			}
		}
		k = kDropTable
		if obj == "database" || obj == "schema" {
			k = kDropDatabase
		}
	case "truncate":
		p, _, hasTable := sqlKeywordAt(t, e, "table")
		if !hasTable {
			p = e
		}
		if q, _, ok := sqlKeywordAt(t, p, "only"); ok {
			p = q
		}
		n := sqlName(t, p)
		if n == sqlSkip(t, p) {
			return
		}
		// Without TABLE, the name must end the statement (or go on with
		// more names or TRUNCATE options), so that prose does not count.
		if rest := sqlSkip(t, n); !hasTable && !sqlEnds(t, rest) && t[rest] != ',' {
			if _, _, ok := sqlKeywordAt(t, rest, "cascade", "restrict", "restart", "continue"); !ok {
				return
			}
		}
		k = kTruncate
	case "delete":
		p, _, ok := sqlKeywordAt(t, e, "from")
		if !ok || !sqlTarget(t, p, "where", "using", "returning", "output", "order", "limit", "as") {
			return
		}
		k = kDeleteWithoutWhere
	case "update":
		p := e
		if q, _, ok := sqlKeywordAt(t, p, "only"); ok {
			p = q
		}
		n := sqlName(t, p)
		if n == sqlSkip(t, p) {
			return
		}
		if _, _, ok := sqlKeywordAt(t, n, "set"); !ok {
			// An alias: UPDATE users u SET …
			q := sqlSkip(t, n)
			a := sqlWord(t, q)
			if a == q {
				return
			}
			if _, _, ok := sqlKeywordAt(t, a, "set"); !ok {
				return
			}
		}
		k = kUpdateWithoutWhere
	case "alter":
		if _, _, ok := sqlKeywordAt(t, e, "table"); !ok {
			return
		}
		k = kAlterDrop
	case "grant":
		p, _, ok := sqlKeywordAt(t, e, "all")
		if !ok {
			return
		}
		if q, _, ok := sqlKeywordAt(t, p, "privileges"); ok {
			p = q
		}
		if _, _, ok := sqlKeywordAt(t, p, "on"); !ok {
			return
		}
		k = kGrantAll
	default:
		return
	}
	st := s.statement(w)
	switch {
	case (k == kDeleteWithoutWhere || k == kUpdateWithoutWhere) && st.lastWhere > w:
		return
	case k == kAlterDrop && st.lastDrop <= w:
		return
	}
	end := st.end
	for end > w && isSpace(t[end-1]) {
		end--
	}
	s.add(k, w, end)
}

// sqlEnds reports whether the statement ends at p: the end of the text, a
// ;, a ) or a quote closing the string it sits in.
func sqlEnds(t string, p int) bool {
	return p >= len(t) || strings.IndexByte(";)\"'`", t[p]) >= 0
}

// sqlTarget reports whether a table name follows at p and is followed by
// the end of the statement or one of the keywords that may follow it.
func sqlTarget(t string, p int, next ...string) bool {
	n := sqlName(t, p)
	if n == sqlSkip(t, p) {
		return false
	}
	rest := sqlSkip(t, n)
	if sqlEnds(t, rest) {
		return true
	}
	_, _, ok := sqlKeywordAt(t, rest, next...)
	return ok
}
