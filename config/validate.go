package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-mcp/gatehouse/upstream"
)

// The enumerations of the config file that are not policy's: package
// policy holds and checks its own.
var (
	auditArgumentModes = []string{"masked", "hash", "none"}
	reloadModes        = []string{ReloadWatch, ReloadSignal}
	judgeProviders     = []string{"openai", "anthropic", "ollama"}
	upstreamTransports = []string{"http", "sse"}
	upstreamProtocols  = []string{upstream.ProtocolLegacy, upstream.ProtocolModern}
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// validate checks the decoded config against the rules that span fields,
// files and workspaces, and has package policy check every policy.
func (l *loader) validate(cfg *Config) {
	l.validateTop(cfg)
	all := map[string]bool{} // upstream names of every workspace
	for i := range cfg.Workspaces {
		for _, u := range cfg.Workspaces[i].Upstreams {
			all[u.Name] = true
		}
	}
	l.validatePolicies(cfg.Policies, all, "any workspace")
	l.includeTemplates(cfg) // after the file's own: they are checked in their scope, and a template's in its own
	for i := range cfg.Workspaces {
		l.validateWorkspace(&cfg.Workspaces[i])
	}
	if len(cfg.Workspaces) == 0 {
		l.report(l.mainFile, "workspaces", "", errors.New("at least one workspace is required (under workspaces: or in workspaces_dir)"))
	}
}

func (l *loader) validateTop(cfg *Config) {
	f := l.mainFile
	if cfg.Version != defaultVersion {
		l.report(f, "version", strconv.Itoa(cfg.Version), fmt.Errorf("unsupported version; this gatehouse reads version %d", defaultVersion))
	}
	if err := checkListen(cfg.Listen); err != nil {
		l.report(f, "listen", cfg.Listen, err)
	}
	for i, o := range cfg.HTTP.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			l.report(f, fieldIndex("http.allowed_origins", i), o, err)
		}
	}
	l.checkPositiveCount(f, "http.max_request_bytes", int64(cfg.HTTP.MaxRequestBytes))
	if cfg.HTTP.BodyTimeout <= 0 {
		l.report(f, "http.body_timeout", time.Duration(cfg.HTTP.BodyTimeout).String(), errors.New("must be positive"))
	}
	l.checkPositiveCount(f, "http.max_sessions", int64(cfg.HTTP.MaxSessions))
	l.checkPositive(f, "http.session_idle_timeout", cfg.HTTP.SessionIdleTimeout)
	if q := cfg.HTTP.SessionQueue; q < 1 || q > maxSessionQueue {
		l.report(f, "http.session_queue", strconv.Itoa(q), fmt.Errorf("must be a number of notifications from 1 to %d", maxSessionQueue))
	}
	l.checkPositiveCount(f, "stdio.max_request_bytes", int64(cfg.Stdio.MaxRequestBytes))
	l.checkPositiveCount(f, "approval.max_pending_per_user", int64(cfg.Approval.MaxPendingPerUser))
	l.checkPositiveCount(f, "limits.max_calls_in_flight", int64(cfg.Limits.MaxCallsInFlight))
	if cfg.Audit.Database == "" {
		l.report(f, "audit.database", "", errors.New("must not be empty"))
	}
	l.checkEnum(f, "audit.arguments", cfg.Audit.Arguments, auditArgumentModes)
	l.checkEnum(f, "reload", cfg.Reload, reloadModes)
	l.checkPositive(f, "audit.retention", cfg.Audit.Retention)
	l.checkPositive(f, "approval.timeout", cfg.Approval.Timeout)
	l.checkPositive(f, "approval.lifetime", cfg.Approval.Lifetime)
	l.validateJudge(f, &cfg.Judge)
	seen := map[string]bool{}
	for i, name := range cfg.Include {
		field := fieldIndex("include", i)
		switch {
		case !slices.Contains(knownTemplates, name):
			err := fmt.Errorf("unknown policy template; known templates are %s", strings.Join(knownTemplates, ", "))
			if s := suggest(name, knownTemplates); s != "" {
				err = fmt.Errorf("unknown policy template; did you mean %q?", s)
			}
			l.report(f, field, name, err)
		case seen[name]:
			l.report(f, field, name, errors.New("included twice"))
		}
		seen[name] = true
	}
}

func (l *loader) validateJudge(f string, j *Judge) {
	if j.Provider != "" {
		l.checkEnum(f, "judge.provider", j.Provider, judgeProviders)
		if j.Model == "" {
			l.report(f, "judge.model", "", errors.New("required when judge.provider is set"))
		}
	}
	if j.BaseURL != "" {
		if err := checkHTTPURL(j.BaseURL); err != nil {
			l.report(f, "judge.base_url", j.BaseURL, err)
		}
	}
	if j.APIKeyEnv != "" && !envNameRE.MatchString(j.APIKeyEnv) {
		l.report(f, "judge.api_key_env", j.APIKeyEnv, hiddenValue{errors.New("must be the NAME of an environment variable, not the key")})
	}
	l.checkPositive(f, "judge.timeout", j.Timeout)
	l.checkPositive(f, "judge.cache_ttl", j.CacheTTL)
	for i, d := range j.InternalDomains {
		if err := checkDomainPattern(d); err != nil {
			l.report(f, fieldIndex("judge.internal_domains", i), d, err)
		}
	}
	if j.MaxContextTokens < minJudgeMaxContext || j.MaxContextTokens > maxJudgeMaxContext {
		l.report(f, "judge.max_context_tokens", strconv.Itoa(j.MaxContextTokens),
			fmt.Errorf("must be a number of tokens from %d to %d: the context window of the judge's model, or less", minJudgeMaxContext, maxJudgeMaxContext))
	}
	c := &j.Confirm
	if !c.Enabled {
		return
	}
	if j.Provider == "" {
		l.report(f, "judge.confirm", "", errors.New("needs a judge: set judge.provider and judge.model"))
	}
	if c.Provider != "" {
		l.checkEnum(f, "judge.confirm.provider", c.Provider, judgeProviders)
	}
	if (c.Provider != "" || c.BaseURL != "" || c.APIKeyEnv != "") && c.Model == "" {
		l.report(f, "judge.confirm.model", "", errors.New("required when judge.confirm names a provider, base_url or api_key_env (use `confirm: true` to ask the judge's own model again)"))
	}
	if c.BaseURL != "" {
		if err := checkHTTPURL(c.BaseURL); err != nil {
			l.report(f, "judge.confirm.base_url", c.BaseURL, err)
		}
	}
	if c.APIKeyEnv != "" && !envNameRE.MatchString(c.APIKeyEnv) {
		l.report(f, "judge.confirm.api_key_env", c.APIKeyEnv, hiddenValue{errors.New("must be the NAME of an environment variable, not the key")})
	}
	// The second model's unset fields are the judge's own.
	if c.Provider == "" || c.Provider == j.Provider {
		c.Provider = j.Provider
		c.BaseURL = orString(c.BaseURL, j.BaseURL)
		c.APIKeyEnv = orString(c.APIKeyEnv, j.APIKeyEnv)
	}
	c.Model = orString(c.Model, j.Model)
}

// errDomainPattern is what a bad entry of judge.internal_domains is told.
var errDomainPattern = errors.New("must be a domain name (example.com) or *. and a domain name (*.example.com), without scheme, port, path or other wildcards")

// checkDomainPattern checks an entry of judge.internal_domains: a domain
// name, or "*." and one; labels of letters, digits and inner hyphens, at
// most 63 bytes each and 253 in all.
func checkDomainPattern(p string) error {
	name := strings.TrimSuffix(strings.TrimPrefix(p, "*."), ".")
	if name == "" || len(name) > 253 {
		return errDomainPattern
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return errDomainPattern
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
				return errDomainPattern
			}
		}
	}
	if mixed := mixedScriptLabel(name); mixed != "" {
		return fmt.Errorf("label %q mixes scripts: a look-alike of another name is not an internal domain", mixed)
	}
	return nil
}

// mixedScriptLabel is the first label of name whose letters are of more
// than one script, or "".
func mixedScriptLabel(name string) string {
	for _, label := range strings.Split(name, ".") {
		var first *unicode.RangeTable
		for _, r := range label {
			if !unicode.IsLetter(r) {
				continue
			}
			t := scriptOf(r)
			if first == nil {
				first = t
			} else if t != first {
				return label
			}
		}
	}
	return ""
}

// scriptOf is the script table of letter r, among those look-alikes are
// made of; unicode.L for any other.
func scriptOf(r rune) *unicode.RangeTable {
	for _, t := range []*unicode.RangeTable{unicode.Latin, unicode.Cyrillic, unicode.Greek, unicode.Armenian, unicode.Cherokee} {
		if unicode.Is(t, r) {
			return t
		}
	}
	return unicode.L
}

func orString(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func (l *loader) validateWorkspace(w *Workspace) {
	file := l.display[w.File]
	field := "workspaces." + w.Name
	if err := checkName(w.Name); err != nil {
		l.report(file, field, w.Name, err)
	}
	names := map[string]int{}
	for i, u := range w.Upstreams {
		uf := fieldIndex(field+".upstreams", i)
		l.validateUpstream(file, uf, &u)
		if first, dup := names[u.Name]; dup && u.Name != "" {
			l.report(file, uf+".name", u.Name, fmt.Errorf("duplicate upstream name (also %s.upstreams[%d])", field, first))
		} else if !dup {
			names[u.Name] = i
		}
	}
	mine := map[string]bool{}
	for _, u := range w.Upstreams {
		mine[u.Name] = true
	}
	l.validatePolicies(w.Policies, mine, "workspace "+strconv.Quote(w.Name))
}

func (l *loader) validateUpstream(file, field string, u *Upstream) {
	if u.Name == "" && !l.present(file, field+".name") {
		l.report(file, field, "", errors.New("name is required"))
	} else if err := checkName(u.Name); err != nil {
		l.report(file, field+".name", u.Name, err)
	} else if strings.Contains(u.Name, "__") {
		l.report(file, field+".name", u.Name, errors.New(`must not contain "__" (it separates upstream and tool in exposed names)`))
	}
	hasCommand := u.Command != "" || l.present(file, field+".command")
	hasURL := u.URL != "" || l.present(file, field+".url")
	only := func(key, kind string) {
		if l.present(file, field+"."+key) {
			l.report(file, field+"."+key, "", fmt.Errorf("only for %s upstreams", kind))
		}
	}
	if u.Protocol != "" || l.present(file, field+".protocol") {
		l.checkEnum(file, field+".protocol", u.Protocol, upstreamProtocols)
	}
	switch {
	case hasCommand && hasURL:
		l.report(file, field+".url", "", errors.New("an upstream has a command or a url, not both"))
	case !hasCommand && !hasURL:
		l.report(file, field, "", errors.New("needs a command (stdio) or a url (http)"))
	case hasCommand:
		if strings.TrimSpace(u.Command) == "" {
			l.report(file, field+".command", u.Command, errors.New("must not be empty"))
		}
		only("transport", "url")
		only("headers", "url")
		if l.present(file, field+".dir") {
			if info, err := os.Stat(u.Dir); err != nil || !info.IsDir() {
				l.report(file, field+".dir", u.Dir, errors.New("not an existing directory"))
			}
		}
	default:
		if err := checkHTTPURL(u.URL); err != nil {
			l.report(file, field+".url", u.URL, err)
		}
		if u.Transport != "" || l.present(file, field+".transport") {
			l.checkEnum(file, field+".transport", u.Transport, upstreamTransports)
		}
		only("args", "command")
		only("env", "command")
		only("dir", "command")
	}
	envNames := map[string]bool{}
	for i, e := range u.Env {
		name, _, err := checkEnvEntry(e)
		if err != nil {
			l.report(file, fieldIndex(field+".env", i), e, err)
		} else if envNames[name] {
			l.report(file, fieldIndex(field+".env", i), e, fmt.Errorf("%s is set twice", name))
		}
		envNames[name] = true
	}
	for i, h := range u.Headers {
		if err := checkHeader(h); err != nil {
			l.report(file, fieldIndex(field+".headers", i), h, err)
		}
	}
	if l.present(file, field+".timeout") {
		l.checkPositive(file, field+".timeout", u.Timeout)
	}
	if l.present(file, field+".max_message_bytes") && u.MaxMessageBytes <= 0 {
		l.report(file, field+".max_message_bytes", strconv.Itoa(u.MaxMessageBytes), errors.New("must be positive"))
	}
}

// checkEnum reports value unless it is one of allowed.
func (l *loader) checkEnum(file, field, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		l.report(file, field, value, fmt.Errorf("must be one of %s", strings.Join(allowed, ", ")))
	}
}

// checkPositiveCount reports a count or size, field of file, that is not
// positive.
func (l *loader) checkPositiveCount(file, field string, n int64) {
	if n <= 0 {
		l.report(file, field, strconv.FormatInt(n, 10), errors.New("must be positive"))
	}
}

func (l *loader) checkPositive(file, field string, d Duration) {
	if d <= 0 {
		l.report(file, field, d.String(), errors.New("must be a positive duration"))
	}
}

func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return errors.New("invalid name: use 1 to 64 letters, digits, '-' or '_'")
	}
	return nil
}

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("port must be a number from 0 to 65535")
	}
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("scheme must be http or https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("URL has no host")
	}
	return nil
}

func checkOrigin(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return errors.New("must be an origin: scheme://host[:port]")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("an origin has no user, path, query or fragment")
	}
	return nil
}

// checkEnvEntry checks a NAME=VALUE entry and returns the name.
func checkEnvEntry(e string) (string, string, error) {
	name, value, ok := strings.Cut(e, "=")
	if !ok {
		return "", "", errors.New("must be NAME=VALUE")
	}
	if !envNameRE.MatchString(name) {
		return "", "", fmt.Errorf("invalid variable name %q", name)
	}
	if strings.ContainsRune(value, 0) {
		return "", "", errors.New("value contains a NUL byte")
	}
	return name, value, nil
}

// checkHeader checks a Name=Value header entry.
func checkHeader(h string) error {
	name, value, ok := strings.Cut(h, "=")
	if !ok {
		return errors.New("must be Name=Value")
	}
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		return fmt.Errorf("invalid header name %q", name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return errors.New("header value contains a line break or NUL")
	}
	return nil
}

// isTokenChar reports whether r may appear in an HTTP header name (RFC 9110 token).
func isTokenChar(r rune) bool {
	return r < 0x7f && r > 0x20 && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
}
