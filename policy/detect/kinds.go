package detect

import "slices"

// KindInfo documents one kind of finding: a row of the table of kinds.
type KindInfo struct {
	// Threat is the detector that finds it.
	Threat Threat
	// Kind is its name in a Finding.
	Kind string
	// Severity is the fixed severity of every finding of the kind, in
	// (0, 1].
	Severity float64
	// Description says what the kind is, in a line: it is the "finds"
	// column of README.md's detector table.
	Description string
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
	kInlineCode
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

// kinds is the table of kinds: the single source of what each detector
// finds and how severe it is. A Finding takes its threat and severity from
// it; Kinds lists it; README.md's detector table is rendered from it (and
// TestREADMEKinds fails when the two differ: go test ./policy/detect
// -update rewrites the README's table).
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
	kOverridePhrase:   {ThreatPromptInjection, "override_phrase", 0.8, `"ignore all previous instructions", "disregard the above.", "forget everything you were told", "stop following your instructions", "new instructions:", "IMPORTANT: … ignore …" (also with the words glued together)`},
	kJailbreak:        {ThreatPromptInjection, "jailbreak", 0.7, `"act as DAN", "you are now in developer mode", "do anything now"`},
	kConcealment:      {ThreatPromptInjection, "concealment", 0.7, `"do not tell the user", "without informing the user"`},
	kRoleMarker:       {ThreatPromptInjection, "role_marker", 0.7, "chat-template role markers: </system>, <|im_start|>, [INST], <<SYS>>, <IMPORTANT>"},
	kPromptLeak:       {ThreatPromptInjection, "prompt_leak", 0.6, `"reveal your system prompt", "print your instructions"`},
	kBidiControl:      {ThreatPromptInjection, "bidi_control", 0.6, "bidirectional overrides U+202A–U+202E, U+2066–U+2069"},
	kRoleReassignment: {ThreatPromptInjection, "role_reassignment", 0.5, `"you are now a …", "you are now an …"`},
	kSystemPrompt:     {ThreatPromptInjection, "system_prompt", 0.3, `a mention of the "system prompt"`},

	kDestructiveRM:       {ThreatShellInjection, "destructive_rm", 1.0, "recursive rm of /, ~, *, $HOME or a top-level system directory, or with --no-preserve-root; find … -delete or -exec rm from one"},
	kDiskWipe:            {ThreatShellInjection, "disk_wipe", 1.0, "mkfs, a write to a disk device (> /dev/sda, dd of=/dev/sda)"},
	kForkBomb:            {ThreatShellInjection, "fork_bomb", 1.0, ":(){ :|:& };: and its renamed forms"},
	kReverseShell:        {ThreatShellInjection, "reverse_shell", 1.0, "/dev/tcp/…, /dev/udp/…, nc -e, bash -i >&"},
	kPipeToShell:         {ThreatShellInjection, "pipe_to_shell", 0.9, "a pipe into a shell or an interpreter: | sh, | bash, | python, | perl, | node (curl … | sh)"},
	kWorldWritable:       {ThreatShellInjection, "world_writable", 0.8, "chmod 777 (or a+rwx) of /, ~ or a top-level system directory"},
	kChainedCommand:      {ThreatShellInjection, "chained_command", 0.7, ";, &&, || or | followed by a dangerous command (rm, curl, wget, nc, dd, chmod, …)"},
	kCommandSubstitution: {ThreatShellInjection, "command_substitution", 0.6, "$(command) or `command`"},
	kInlineCode:          {ThreatShellInjection, "inline_code", 0.6, "code run from the command line: sh -c, bash -c, python -c, perl -e, ruby -e, node -e, php -r, eval …"},
	kSudo:                {ThreatShellInjection, "sudo", 0.5, "sudo at a command position"},

	kEncodedDotDot: {ThreatPathTraversal, "encoded_dotdot", 0.9, "a percent-encoded ../ (%2e%2e%2f, ..%2f, %252e%252e%252f, …)"},
	kSensitiveFile: {ThreatPathTraversal, "sensitive_file", 0.8, `a credentials file or directory in any spelling (normalised: ~, $HOME, //, ./, ../, a trailing /, file://, %2F, \ for /, any case; a glob that could match one): ~/.ssh, id_rsa, ~/.aws/, .env (not .env.example), .netrc, key files (.pem, .key, .p12), /etc/shadow, /proc/self/environ, …\System32\config\SAM`},
	kDotDot:        {ThreatPathTraversal, "dotdot", 0.7, `a .. path segment next to a / or \ (../, ..\, /..)`},

	kDropDatabase:       {ThreatSQLDestructive, "drop_database", 1.0, "DROP DATABASE, DROP SCHEMA"},
	kDropTable:          {ThreatSQLDestructive, "drop_table", 0.9, "DROP TABLE, VIEW, INDEX, SEQUENCE, FUNCTION, PROCEDURE, TRIGGER, TYPE, USER, ROLE"},
	kTruncate:           {ThreatSQLDestructive, "truncate", 0.9, "TRUNCATE [TABLE] name"},
	kDeleteWithoutWhere: {ThreatSQLDestructive, "delete_without_where", 0.9, "DELETE FROM name (or T-SQL DELETE name) with no WHERE in the statement: a WHERE in a comment, or one that always holds (1=1, TRUE, 'a'='a', id=id, … OR 1=1), counts as none"},
	kUpdateWithoutWhere: {ThreatSQLDestructive, "update_without_where", 0.8, "UPDATE name SET … with no WHERE in the statement (as for DELETE)"},
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
