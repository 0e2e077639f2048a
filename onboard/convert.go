package onboard

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// Upstream is one upstream of the workspace import writes, shaped as in
// gatehouse.yaml.
type Upstream struct {
	Name      string   `yaml:"name"`
	Command   string   `yaml:"command,omitempty"`
	Args      []string `yaml:"args,omitempty"`
	Env       []string `yaml:"env,omitempty"`
	Dir       string   `yaml:"dir,omitempty"`
	URL       string   `yaml:"url,omitempty"`
	Transport string   `yaml:"transport,omitempty"`
	Headers   []string `yaml:"headers,omitempty"`
}

// Variable is an environment variable an imported upstream now refers to
// as ${Name} instead of holding its value.
type Variable struct {
	Name string
	// Source says where the value was: `env GITHUB_TOKEN of server
	// "github"`.
	Source string
	// Value is the secret as the client's file held it; "" when the file
	// held none (a VS Code input, or a variable of the client's own).
	Value string
	// Input is set for a VS Code input: the client asked the person for
	// the value; InputID is the input's id (${input:InputID}).
	Input   bool
	InputID string
}

// Import is a client's servers turned into upstreams.
type Import struct {
	Upstreams []Upstream
	// Vars are the variables to set, in the order first referred to.
	Vars []Variable
	// Notes are things the person should know: servers skipped, fields
	// not carried over.
	Notes []string
}

var (
	nameBadRE    = regexp.MustCompile(`[^A-Za-z0-9_-]+`)
	envBadRE     = regexp.MustCompile(`[^A-Za-z0-9_]+`)
	secretNameRE = regexp.MustCompile(`(?i)(TOKEN|_KEY$|^KEY$|APIKEY|API_KEY|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY|AUTH$|^AUTHORIZATION$|^COOKIE$|^PAT$|_PAT$|(^|_)PASS(_|$)|_PWD$|(^|_)PW$|(^|_)DSN$)`)
	// authValueRE is a credential by its scheme, whatever holds it:
	// "Bearer X", "Basic X", "Token X", "Authorization: Bearer X".
	authValueRE = regexp.MustCompile(`(?i)^(?:(?:proxy-)?authorization:\s*)?(?:bearer|basic|token)\s+(\S+)$`)
	// notPasswordRE is what follows a -p that is no password: a number
	// or port (-p 8080, -p 3.11), a path or package (-p ./x, -p @scope/pkg).
	notPasswordRE = regexp.MustCompile(`^([0-9.:]+|[@.~/\\-].*|.*[/\\].*)$`)
	// secretHeaderRE names headers whose value is a credential.
	secretHeaderRE = regexp.MustCompile(`(?i)^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-token|.*token.*|.*secret.*|.*api[-_]?key.*)$`)
	authSchemeRE   = regexp.MustCompile(`(?i)^(bearer|basic|token|bot)\s+`)
)

// converter holds the state of one Convert: names taken and variables.
type converter struct {
	names   map[string]bool
	vars    map[string]int // name → index in out.Vars
	inputs  map[string]bool
	baseDir string // what ${workspaceFolder} stands for
	home    string
	out     Import
}

// Convert turns f's servers into upstreams. baseDir is what VS Code's
// ${workspaceFolder} stands for; home is ${userHome}.
func Convert(f *File, baseDir, home string) (*Import, error) {
	servers, err := f.Servers()
	if err != nil {
		return nil, err
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("%s: %w under %q", f.Path, errNoServers, strings.Join(f.path, "."))
	}
	c := &converter{names: map[string]bool{}, vars: map[string]int{}, inputs: f.Inputs(), baseDir: baseDir, home: home}
	for _, s := range servers {
		if why := gatehouseItself(s); why != "" {
			c.out.Notes = append(c.out.Notes, fmt.Sprintf("server %q is Gatehouse itself (%s): not imported", s.Name, why))
			continue
		}
		if s.Disabled {
			c.out.Notes = append(c.out.Notes, fmt.Sprintf("server %q is disabled in the client: not imported", s.Name))
			continue
		}
		u, err := c.server(s)
		if err != nil {
			return nil, err
		}
		c.out.Upstreams = append(c.out.Upstreams, u)
	}
	if len(c.out.Upstreams) == 0 {
		return nil, fmt.Errorf("%s: %w to import (%s)", f.Path, errNoServers, strings.Join(c.out.Notes, "; "))
	}
	return &c.out, nil
}

// gatehouseRE is the path of a gateway's workspace endpoint.
var gatehouseRE = regexp.MustCompile(`^/w/[^/]+/mcp/?$`)

// gatehouseItself says why s is Gatehouse itself ("" if it is not): a
// command named gatehouse (gatehouse.exe, any case, any directory), or
// a launcher's argument naming it, followed by serve; or a workspace endpoint of a gateway on this
// machine (http://127.0.0.1:8080/w/dev/mcp), as the url or an argument
// (mcp-remote URL). Importing it would make the gateway its own
// upstream.
func gatehouseItself(s Server) string {
	// The binary, or a launcher's argument naming it (npx gatehouse
	// serve, docker run … ghcr.io/…/gatehouse:1 serve), then serve.
	words := append([]string{s.Command}, s.Args...)
	for i, w := range words {
		base := w[strings.LastIndexAny(w, `/\`)+1:]
		base, _, _ = strings.Cut(base, ":") // an image's tag
		base, _, _ = strings.Cut(base, "@") // a package's version
		if strings.TrimSuffix(strings.ToLower(base), ".exe") == "gatehouse" && slices.Contains(words[i+1:], "serve") {
			return "gatehouse serve"
		}
	}
	for _, u := range append([]string{s.URL}, s.Args...) {
		if localGatehouseURL(u) {
			return "a gateway's endpoint " + u
		}
	}
	return ""
}

// localGatehouseURL reports whether raw is a workspace endpoint
// (/w/NAME/mcp) on a loopback address.
func localGatehouseURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !gatehouseRE.MatchString(u.Path) {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "0.0.0.0" || host == "::" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// server converts one server.
func (c *converter) server(s Server) (Upstream, error) {
	u := Upstream{Name: c.upstreamName(s.Name)}
	if u.Name != s.Name {
		c.out.Notes = append(c.out.Notes, fmt.Sprintf("server %q is upstream %q (names are letters, digits, '-' and '_', unique)", s.Name, u.Name))
	}
	src := func(what string) string { return fmt.Sprintf("%s of server %q", what, s.Name) }
	prefix := strings.ToUpper(envBadRE.ReplaceAllString(u.Name, "_"))
	switch {
	case s.Command != "" && s.URL != "":
		return u, fmt.Errorf("server %q has both a command and a url", s.Name)
	case s.Command != "":
		u.Command = c.value(s.Command, prefix+"_COMMAND", prefix, src("command"), false)
		for i, a := range s.Args {
			base := fmt.Sprintf("%s_ARG%d", prefix, i+1)
			byName := false
			if i > 0 && strings.HasPrefix(s.Args[i-1], "-") && !strings.Contains(s.Args[i-1], "=") {
				flag := strings.TrimLeft(s.Args[i-1], "-")
				base = envName(flag)
				byName = secretFlag(s.Args[i-1], a)
			}
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "-") {
				// --api-key=VALUE
				name := envName(strings.TrimLeft(k, "-"))
				if secretFlag(k, v) && v != "" && !strings.Contains(v, "${") {
					u.Args = append(u.Args, k+"="+c.secret(v, name, prefix, src(fmt.Sprintf("argument %d", i+1))))
					continue
				}
			}
			u.Args = append(u.Args, c.value(a, base, prefix, src(fmt.Sprintf("argument %d", i+1)), byName))
		}
		for _, k := range orderedKeys(s.Env, s.EnvOrder) {
			name := k
			if !envNameOK(name) {
				c.out.Notes = append(c.out.Notes, fmt.Sprintf("server %q: env %q is not a valid variable name: not imported", s.Name, k))
				continue
			}
			u.Env = append(u.Env, name+"="+c.value(s.Env[k], envName(k), prefix, src("env "+k), secretNameRE.MatchString(k)))
		}
		if s.EnvFile != "" {
			c.out.Notes = append(c.out.Notes, fmt.Sprintf("server %q reads envFile %q: not imported; add its variables to upstream %q's env as ${VAR} references", s.Name, s.EnvFile, u.Name))
		}
		if s.Cwd != "" {
			dir := c.value(s.Cwd, prefix+"_DIR", prefix, src("cwd"), false)
			if !filepath.IsAbs(dir) && !strings.Contains(dir, "${") {
				dir = filepath.Join(c.baseDir, dir)
			}
			u.Dir = dir
		}
		if s.Type != "" && s.Type != "stdio" {
			return u, fmt.Errorf("server %q: type %q with a command: want stdio", s.Name, s.Type)
		}
	case s.URL != "":
		u.URL = c.value(s.URL, prefix+"_URL", prefix, src("url"), false)
		switch strings.ToLower(s.Type) {
		case "", "http", "streamable-http", "streamablehttp":
		case "sse":
			u.Transport = "sse"
		default:
			return u, fmt.Errorf("server %q: unknown type %q: want stdio, http or sse", s.Name, s.Type)
		}
		for _, k := range orderedKeys(s.Headers, s.HeaderOrder) {
			base := prefix + "_" + envName(k)
			u.Headers = append(u.Headers, k+"="+c.value(s.Headers[k], base, prefix, src("header "+k), secretHeaderRE.MatchString(k) || secretNameRE.MatchString(envName(k))))
		}
	default:
		return u, fmt.Errorf("server %q has neither a command nor a url", s.Name)
	}
	return u, nil
}

// upstreamName makes name valid for gatehouse.yaml and unique.
func (c *converter) upstreamName(name string) string {
	n := strings.Trim(nameBadRE.ReplaceAllString(name, "-"), "-")
	if n == "" {
		n = "server"
	}
	if len(n) > 60 {
		n = n[:60]
	}
	out := n
	for i := 2; c.names[strings.ToLower(out)]; i++ {
		out = fmt.Sprintf("%s-%d", n, i)
	}
	c.names[strings.ToLower(out)] = true
	return out
}

// value converts one string of a server: a secret (by byName, the name
// of what it is the value of, or found by the secret detectors) becomes
// ${VAR}; the client's own ${…} placeholders become gatehouse's; any
// other ${ is escaped as $${.
func (c *converter) value(v, base, prefix, source string, byName bool) string {
	if v == "" {
		return v
	}
	if byName && !strings.Contains(v, "${") {
		scheme := authSchemeRE.FindString(v)
		if scheme != "" && len(v) > len(scheme) {
			return scheme + c.secret(v[len(scheme):], base, prefix, source)
		}
		return c.secret(v, base, prefix, source)
	}
	if m := authValueRE.FindStringSubmatchIndex(v); m != nil && !strings.Contains(v, "${") {
		// A credential by its scheme, whatever its name.
		return v[:m[2]] + c.secret(v[m[2]:], base, prefix, source)
	}
	if ms := queryParamRE.FindAllStringSubmatchIndex(v, -1); ms != nil {
		// A URL's query parameter named as a secret (?api_key=X,
		// &token=X): the value is a variable; the rest is read as usual.
		var b strings.Builder
		at, hit := 0, false
		for _, m := range ms {
			name, val := v[m[2]:m[3]], v[m[4]:m[5]]
			if !secretNameRE.MatchString(envName(name)) || strings.Contains(val, "${") {
				continue
			}
			b.WriteString(c.value(v[at:m[4]], base, prefix, source, false))
			b.WriteString(c.secret(val, fragmentName(name, prefix), prefix, source))
			at, hit = m[5], true
		}
		if hit {
			b.WriteString(c.value(v[at:], base, prefix, source, false))
			return b.String()
		}
	}
	findings := policy.DetectOnly(v, policy.ThreatSecret)
	// Keep the findings that do not overlap, in order.
	sort.Slice(findings, func(i, j int) bool { return findings[i].Start < findings[j].Start })
	var b strings.Builder
	at, n := 0, 0
	for _, fd := range findings {
		if fd.Start < at || fd.End <= fd.Start {
			continue
		}
		b.WriteString(c.placeholders(v[at:fd.Start], source))
		name := base
		if fd.Start > 0 || fd.End < len(v) {
			// A part of the value (the password of a URL): the variable
			// is not the value's own (HTTPS_PROXY=S3cret would be wrong).
			name = fragmentName(base, prefix)
		}
		if n > 0 {
			name = fmt.Sprintf("%s_%d", name, n+1)
		}
		b.WriteString(c.secret(v[fd.Start:fd.End], name, prefix, source))
		at, n = fd.End, n+1
	}
	b.WriteString(c.placeholders(v[at:], source))
	return b.String()
}

// secret records value as a variable named after base and returns the
// reference to it.
func (c *converter) secret(value, base, prefix, source string) string {
	base = envName(base)
	for reservedName(base) {
		// The gateway reads it itself (HTTPS_PROXY, SSL_CERT_FILE): the
		// upstream's secret gets a name of its own.
		base = fragmentName(base, prefix)
		if reservedName(base) {
			base = "MCP_" + base
		}
	}
	name := base
	for i := 1; ; i++ {
		idx, taken := c.vars[name]
		if !taken {
			break
		}
		if c.out.Vars[idx].Value == value {
			c.out.Vars[idx].Source += "; " + source
			return "${" + name + "}"
		}
		switch {
		case i == 1 && !strings.HasPrefix(base, prefix+"_"):
			name = prefix + "_" + base
		default:
			name = fmt.Sprintf("%s_%d", base, i)
		}
	}
	c.vars[name] = len(c.out.Vars)
	c.out.Vars = append(c.out.Vars, Variable{Name: name, Source: source, Value: value})
	return "${" + name + "}"
}

// queryParamRE is a URL's query parameter: its name and value.
var queryParamRE = regexp.MustCompile(`[?&]([A-Za-z0-9_.-]+)=([^&#\s]+)`)

// secretFlag reports whether flag (as written: --api-key, -p) is
// followed by a secret, value: a flag named like a secret (--token,
// --pass), or mysql's -p PASSWORD and --pwd PASSWORD (not a number,
// path or package: -p 8080, --pwd /dir).
func secretFlag(flag, value string) bool {
	name := envName(strings.TrimLeft(flag, "-"))
	switch {
	case secretNameRE.MatchString(name):
		return true
	case flag == "-p", flag == "--pwd":
		return value != "" && !notPasswordRE.MatchString(value)
	}
	return false
}

// fragmentName names the secret found inside the value of base (a
// variable, header or argument of upstream prefix):
// <PREFIX>_<BASE>_SECRET.
func fragmentName(base, prefix string) string {
	base = envName(base)
	if !strings.HasPrefix(base, prefix+"_") {
		base = prefix + "_" + base
	}
	return base + "_SECRET"
}

// reservedRE matches the variables the gateway process reads itself: a
// secret never gets one of these names, or install would give it to the
// gateway (HTTPS_PROXY set to a password).
var reservedRE = regexp.MustCompile(`(?i)(^|_)PROXY$|^(PATH|PATHEXT|HOME|TMPDIR|TEMP|TMP|USERPROFILE|APPDATA|LOCALAPPDATA|SYSTEMROOT|COMSPEC|GOGC|GOMEMLIMIT|GODEBUG|GOMAXPROCS|GOTRACEBACK|SHELL|USER|LANG|TZ)$|^(SSL|GATEHOUSE|LD|DYLD|GO|XDG|LC)_`)

func reservedName(name string) bool { return reservedRE.MatchString(name) }

// placeholders rewrites the client's ${…} in a literal: ${env:X} and
// ${X} are gatehouse's ${X}; ${input:id} becomes ${ID}, a variable to
// set; ${workspaceFolder} and ${userHome} are replaced by what they
// stand for; anything else keeps its text ($${).
func (c *converter) placeholders(s, source string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			b.WriteString("$" + s[i:])
			return b.String()
		}
		inner := s[i+2 : i+end]
		s = s[i+end+1:]
		kind, arg, hasColon := strings.Cut(inner, ":")
		switch {
		case hasColon && kind == "env" && envNameOK(arg):
			c.reference(arg, fmt.Sprintf("the client's ${env:%s} in %s", arg, source))
			b.WriteString("${" + arg + "}")
		case !hasColon && envNameOK(inner) && inner != "workspaceFolder" && inner != "userHome" && inner != "workspaceFolderBasename":
			c.reference(inner, fmt.Sprintf("the client's ${%s} in %s", inner, source))
			b.WriteString("${" + inner + "}")
		case hasColon && envNameOK(kind) && strings.HasPrefix(arg, "-") && !strings.Contains(arg, "$"):
			// ${VAR:-default}, as Claude Code writes it: the same in gatehouse.yaml.
			b.WriteString("${" + inner + "}")
		case hasColon && kind == "input":
			name := envName(arg)
			if reservedName(name) {
				// install gives the gateway the input under this name.
				name += "_INPUT"
				if reservedName(name) {
					name = "MCP_" + name
				}
			}
			c.reference(name, fmt.Sprintf("the client's input %q, asked for %s", arg, source))
			c.out.Vars[c.vars[name]].Input = true
			c.out.Vars[c.vars[name]].InputID = arg
			b.WriteString("${" + name + "}")
		case inner == "workspaceFolder":
			b.WriteString(strings.ReplaceAll(c.baseDir, "${", "$${"))
		case inner == "workspaceFolderBasename":
			b.WriteString(filepath.Base(c.baseDir))
		case inner == "userHome":
			b.WriteString(c.home)
		default:
			b.WriteString("$${" + inner + "}")
		}
	}
}

// reference records a variable the client's file referred to, whose
// value it did not hold.
func (c *converter) reference(name, source string) {
	if _, ok := c.vars[name]; !ok {
		c.vars[name] = len(c.out.Vars)
		c.out.Vars = append(c.out.Vars, Variable{Name: name, Source: source})
	}
}

// envName makes s a valid, upper-case environment variable name.
func envName(s string) string {
	n := strings.ToUpper(strings.Trim(envBadRE.ReplaceAllString(s, "_"), "_"))
	if n == "" {
		return "SECRET"
	}
	if n[0] >= '0' && n[0] <= '9' {
		n = "_" + n
	}
	return n
}

var envNameOKRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func envNameOK(s string) bool { return envNameOKRE.MatchString(s) }

// orderedKeys returns m's keys in the file's order, then any others
// sorted.
func orderedKeys(m map[string]string, order []string) []string {
	var out []string
	for _, k := range order {
		if _, ok := m[k]; ok && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	var rest []string
	for k := range m {
		if !slices.Contains(out, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}
