package config

import (
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
	"github.com/gatehouse-mcp/gatehouse/upstream"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testEnv is the environment of the golden cases: the machine's own never
// leaks into a golden file.
var testEnv = map[string]string{
	"GH_TOKEN":      "s3cret-token",
	"EMPTY":         "",
	"UPSTREAM_HOST": "mcp.internal",
	"LISTEN_PORT":   "9090",
}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

func noEnv(string) (string, bool) { return "", false }

// TestLoadGolden loads every testdata/config/NAME.yaml and compares
// the outcome — the error text, or the loaded config as JSON — with
// NAME.golden. `go test ./cmd/gatehouse -run Config -update` rewrites them.
func TestLoadGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "config", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("found %d golden cases; want at least 25", len(files))
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		// The path as a user writes it, with slashes, which every
		// platform reads: errors must name it as written.
		file := filepath.ToSlash(file)
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, err := load(file, lookupTestEnv)
			got := renderOutcome(t, cfg, err, dir)
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Load(%s) =\n%s\nwant\n%s", file, got, want)
			}
		})
	}
}

// renderOutcome writes a load's outcome as golden text, with the absolute
// testdata directory replaced by $TESTDATA.
func renderOutcome(t *testing.T, cfg *Config, err error, dir string) string {
	t.Helper()
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			t.Errorf("Load: errors.Is(%v, ErrNotFound) for an existing file", err)
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("Load: %v is not a *Error", err)
		}
		return "error:\n" + err.Error() + "\n"
	}
	out, jerr := json.MarshalIndent(struct {
		Config *Config
		Specs  any
	}{cfg, cfg.WorkspaceSpecs()}, "", "  ")
	if jerr != nil {
		t.Fatal(jerr)
	}
	return "ok:\n" + testdataPaths(string(out), dir) + "\n"
}

// testdataPaths writes the absolute testdata directory dir in the JSON
// text js as $TESTDATA, and the paths under it with slashes: on Windows
// they are Z:\\…\\gatehouse.db, JSON-escaped.
func testdataPaths(js, dir string) string {
	quoted, _ := json.Marshal(dir)
	js = strings.ReplaceAll(js, string(quoted[1:len(quoted)-1]), "$TESTDATA")
	return testdataPathRE.ReplaceAllStringFunc(js, func(s string) string { return strings.ReplaceAll(s, `\\`, "/") })
}

var testdataPathRE = regexp.MustCompile(`"\$TESTDATA[^"]*"`)

func TestLoadNotFound(t *testing.T) {
	dir := testdir.New(t)
	invalid := filepath.Join(dir, "invalid.yaml")
	if err := os.WriteFile(invalid, []byte("workspaces: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		path        string
		notFound    bool
		configError bool
	}{
		{"missing", filepath.Join(dir, "missing.yaml"), true, false},
		{"missing directory", filepath.Join(dir, "no", "gatehouse.yaml"), true, false},
		{"invalid", invalid, false, true},
		{"a directory", dir, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil {
				t.Fatalf("Load(%s) = nil error", tt.path)
			}
			if got := errors.Is(err, ErrNotFound); got != tt.notFound {
				t.Errorf("Load(%s): errors.Is(%v, ErrNotFound) = %v; want %v", tt.path, err, got, tt.notFound)
			}
			if tt.notFound && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Load(%s): errors.Is(%v, fs.ErrNotExist) = false; want true", tt.path, err)
			}
			var ce *Error
			if got := errors.As(err, &ce); got != tt.configError {
				t.Errorf("Load(%s): errors.As(%v, *Error) = %v; want %v", tt.path, err, got, tt.configError)
			}
			var ces Errors
			if got := errors.As(err, &ces); got != tt.configError {
				t.Errorf("Load(%s): errors.As(%v, Errors) = %v; want %v", tt.path, err, got, tt.configError)
			}
		})
	}
}

func TestConfigErrorFormat(t *testing.T) {
	cause := errors.New("scheme must be http or https")
	tests := []struct {
		name      string
		err       error
		want      string
		wantCause bool
	}{
		{"everything", &Error{File: "config.yaml", Line: 14, Field: "workspaces.dev.upstreams[1].url", Value: "ftp://x", Err: cause},
			`config.yaml:14: workspaces.dev.upstreams[1].url: "ftp://x": scheme must be http or https`, true},
		{"no line", &Error{File: "config.yaml", Field: "workspaces", Err: errors.New("required")},
			`config.yaml: workspaces: required`, false},
		{"long value", &Error{File: "c.yaml", Line: 1, Field: "f", Value: strings.Repeat("x", 70), Err: cause},
			`c.yaml:1: f: "` + strings.Repeat("x", 60) + `"…: scheme must be http or https`, true},
		{"several", Errors{{File: "a.yaml", Line: 1, Err: cause}, {File: "a.yaml", Line: 2, Field: "g", Err: cause}},
			"a.yaml:1: scheme must be http or https\na.yaml:2: g: scheme must be http or https", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q; want %q", got, tt.want)
			}
			if got := errors.Is(tt.err, cause); got != tt.wantCause {
				t.Errorf("errors.Is(%v, cause) = %v; want %v", tt.err, got, tt.wantCause)
			}
		})
	}
}

func TestConfigDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
		str     string
	}{
		{in: "90d", want: 90 * 24 * time.Hour, str: "90d"},
		{in: "1d12h", want: 36 * time.Hour, str: "36h0m0s"},
		{in: "1.5d", want: 36 * time.Hour, str: "36h0m0s"},
		{in: "2m", want: 2 * time.Minute, str: "2m0s"},
		{in: "1h30m", want: 90 * time.Minute, str: "1h30m0s"},
		{in: "-1d", want: -24 * time.Hour, str: "-1d"},
		{in: "0", want: 0, str: "0s"},
		{in: "d", wantErr: true},
		{in: "1d5", wantErr: true},
		{in: "1dd", wantErr: true},
		{in: "1 day", wantErr: true},
		{in: "forever", wantErr: true},
		{in: "", wantErr: true},
		{in: "-", wantErr: true},
		{in: "200000d", wantErr: true},
		{in: "100000d100000d", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDuration(%q) error = %v; want error %v", tt.in, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if time.Duration(got) != tt.want {
				t.Errorf("ParseDuration(%q) = %v; want %v", tt.in, time.Duration(got), tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("ParseDuration(%q).String() = %q; want %q", tt.in, s, tt.str)
			}
			var back Duration
			if err := back.UnmarshalText([]byte(got.String())); err != nil || back != got {
				t.Errorf("UnmarshalText(%q) = %v, %v; want %v", got.String(), back, err, got)
			}
		})
	}
}

func TestConfigExpand(t *testing.T) {
	env := map[string]string{"TOKEN": "abc", "EMPTY": ""}
	l := &loader{lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	tests := []struct {
		in, want string
		wantErr  string
	}{
		{in: "plain", want: "plain"},
		{in: "Bearer ${TOKEN}", want: "Bearer abc"},
		{in: "${TOKEN}${TOKEN}", want: "abcabc"},
		{in: "${MISSING:-dflt}", want: "dflt"},
		{in: "${EMPTY:-dflt}", want: "dflt"},
		{in: "${EMPTY}", want: ""},
		{in: "${MISSING:-}", want: ""},
		{in: "$${TOKEN}", want: "${TOKEN}"},
		{in: "a$${TOKEN}b${TOKEN}", want: "a${TOKEN}babc"},
		{in: "^cost \\$5$", want: "^cost \\$5$"},
		{in: "$TOKEN", want: "$TOKEN"},
		{in: "Bearer ${MISSING}", wantErr: "environment variable MISSING is not set"},
		{in: "${TOKEN", wantErr: "unterminated ${"},
		{in: "${1X}", wantErr: `invalid variable name "1X"`},
		{in: "${}", wantErr: `invalid variable name ""`},
		{in: "${A:-${B}}", wantErr: "nested ${"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := l.expand(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("expand(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestConfigWorkspaceSpecs(t *testing.T) {
	no := false
	cfg := &Config{Workspaces: []Workspace{{
		Name:   "w",
		Strict: &no,
		Upstreams: []Upstream{
			{Name: "stdio", Command: "srv", Args: []string{"a"}, Dir: "/d", Timeout: Duration(time.Second)},
			{Name: "http", URL: "http://h/mcp", Prefix: &no},
			{Name: "explicit-http", URL: "http://h/mcp", Transport: "http"},
			{Name: "sse", URL: "http://h/sse", Transport: "sse", Headers: []string{"A=b"}},
		},
	}}}
	want := []upstream.Spec{
		{Name: "stdio", Transport: upstream.TransportStdio, Command: "srv", Args: []string{"a"}, Dir: "/d", Prefix: true, Timeout: time.Second},
		{Name: "http", Transport: upstream.TransportHTTP, URL: "http://h/mcp", Prefix: false},
		{Name: "explicit-http", Transport: upstream.TransportHTTP, URL: "http://h/mcp", Prefix: true},
		{Name: "sse", Transport: upstream.TransportSSE, URL: "http://h/sse", Headers: []string{"A=b"}, Prefix: true},
	}
	specs := cfg.WorkspaceSpecs()
	if len(specs) != 1 || specs[0].Name != "w" || specs[0].Strict == nil || *specs[0].Strict {
		t.Fatalf("WorkspaceSpecs() = %+v; want one non-strict workspace w", specs)
	}
	if len(specs[0].Upstreams) != len(want) {
		t.Fatalf("WorkspaceSpecs() upstreams = %+v; want %+v", specs[0].Upstreams, want)
	}
	for i, got := range specs[0].Upstreams {
		if !got.Equal(want[i]) {
			t.Errorf("WorkspaceSpecs() upstream %d = %+v; want %+v", i, got, want[i])
		}
	}
	specs[0].Upstreams[0].Args[0] = "changed"
	if cfg.Workspaces[0].Upstreams[0].Args[0] != "a" {
		t.Errorf("WorkspaceSpecs() shares Args with the config")
	}
	if _, ok := cfg.Workspace("W"); ok {
		t.Errorf(`Workspace("W") found; want names to be case-sensitive`)
	}
	if w, ok := cfg.Workspace("w"); !ok || w != &cfg.Workspaces[0] {
		t.Errorf(`Workspace("w") = %p, %v; want %p, true`, w, ok, &cfg.Workspaces[0])
	}
}

// TestConfigExample loads the reference config a newcomer reads, with no
// environment variables at all.
func TestConfigExample(t *testing.T) {
	path := filepath.Join("..", "config.example.yaml")
	for name, lookup := range map[string]func(string) (string, bool){"no env": noEnv, "process env": os.LookupEnv} {
		t.Run(name, func(t *testing.T) {
			cfg, err := load(path, lookup)
			if err != nil {
				t.Fatalf("Load(%s) = %v", path, err)
			}
			if len(cfg.Workspaces) != 1 {
				t.Fatalf("Load(%s): %d workspaces; want 1", path, len(cfg.Workspaces))
			}
			dev, ok := cfg.Workspace("dev")
			if !ok {
				t.Fatalf("Load(%s): no workspace dev", path)
			}
			root, _ := filepath.Abs(filepath.Join(".."))
			var names []string
			for _, u := range cfg.WorkspaceSpecs()[0].Upstreams {
				names = append(names, u.Name)
				if u.Transport != upstream.TransportStdio || u.Command != "npx" || u.Dir != root || !u.Prefix {
					t.Errorf("Load(%s): upstream %+v; want stdio npx in %s with prefix", path, u, root)
				}
			}
			if got := strings.Join(names, ","); got != "fs,everything,memory" {
				t.Errorf("Load(%s): dev upstreams = %s; want fs,everything,memory", path, got)
			}
			if len(cfg.Policies) == 0 || len(dev.Policies) == 0 {
				t.Errorf("Load(%s): %d global and %d dev policies; want some of each", path, len(cfg.Policies), len(dev.Policies))
			}
			if cfg.Audit.Database != filepath.Join(root, "gatehouse.db") {
				t.Errorf("Load(%s): audit.database = %s; want it beside the file", path, cfg.Audit.Database)
			}
		})
	}
}

// TestLoadRelativePaths checks that relative paths follow the config
// file, wherever it is loaded from.
func TestLoadRelativePaths(t *testing.T) {
	dir := testdir.New(t)
	for _, d := range []string{"ws", "tools"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("gatehouse.yaml", "audit: {database: data/verdicts.db}\nworkspaces_dir: ws\n")
	write("ws/team.yaml", "upstreams:\n  - {name: a, command: srv, dir: tools}\n  - {name: b, command: srv}\n")
	cfg, err := Load(filepath.Join(dir, "gatehouse.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ what, got, want string }{
		{"File", cfg.File, filepath.Join(dir, "gatehouse.yaml")},
		{"Audit.Database", cfg.Audit.Database, filepath.Join(dir, "data", "verdicts.db")},
		{"WorkspacesDir", cfg.WorkspacesDir, filepath.Join(dir, "ws")},
		{"team.File", cfg.Workspaces[0].File, filepath.Join(dir, "ws", "team.yaml")},
		{"team.a.Dir", cfg.Workspaces[0].Upstreams[0].Dir, filepath.Join(dir, "tools")},
		{"team.b.Dir", cfg.Workspaces[0].Upstreams[1].Dir, dir},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("Load: %s = %s; want %s", c.what, c.got, c.want)
		}
	}
}

// TestLoadAliasBomb checks that merge keys nesting aliases (each
// level merging the one below ten times) cannot make a load run for ever.
func TestLoadAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("workspaces:\n  w0: &w0 {strict: true}\n")
	for i := 1; i <= 12; i++ {
		b.WriteString("  w" + strconv.Itoa(i) + ": &w" + strconv.Itoa(i) + " {<<: [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*w" + strconv.Itoa(i-1))
		}
		b.WriteString("]}\n")
	}
	path := filepath.Join(testdir.New(t), "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "too many nodes") {
		t.Errorf("Load(alias bomb) = %v; want a too-many-nodes error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Load(alias bomb) took %v", d)
	}
}

// FuzzLoad checks that no document makes Load panic, and that Load never
// accepts a document with a key its types do not name: neither one the
// fuzzer wrote anywhere in an accepted document, nor one put in front of
// whatever it wrote.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "config", "*.yaml"))
	seeds = append(seeds, filepath.Join("..", "config.example.yaml"))
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("workspaces: {w: {<<: [{strict: true}, {strict: false}]}}"))
	f.Add([]byte("workspaces: {w: {policies: [{name: p, action: block, when: {time: {days: [mon]}}}]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := testdir.New(t)
		path := filepath.Join(dir, "gatehouse.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := load(path, lookupTestEnv)
		if err != nil {
			var ces Errors
			if !errors.As(err, &ces) || len(ces) == 0 || err.Error() == "" {
				t.Fatalf("Load = %v; want non-empty Errors", err)
			}
		} else {
			checkAccepted(t, cfg, data)
		}
		prefixed := filepath.Join(dir, "prefixed.yaml")
		if err := os.WriteFile(prefixed, append([]byte("zz_not_a_key: 1\n"), data...), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := load(prefixed, lookupTestEnv); err == nil {
			t.Fatalf("Load(zz_not_a_key: 1 + %q) = nil error; want the unknown key refused", data)
		}
	})
}

// checkAccepted checks what Load accepted: workspaces, specs for each, and
// no key its types do not name.
func checkAccepted(t *testing.T, cfg *Config, data []byte) {
	t.Helper()
	if len(cfg.Workspaces) == 0 {
		t.Fatalf("Load = a config without workspaces")
	}
	if specs := cfg.WorkspaceSpecs(); len(specs) != len(cfg.Workspaces) {
		t.Fatalf("WorkspaceSpecs() = %d specs; want %d", len(specs), len(cfg.Workspaces))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return // an empty document has no keys
	}
	visits := 0
	if k := unknownKey(doc.Content[0], reflect.TypeFor[Config](), "", &visits); k != "" {
		t.Fatalf("Load accepted %q, which sets the unknown key %s", data, k)
	}
}

// unknownKey returns the path of a key of n that no yaml tag of t names,
// or "". It is the test's own reading of the tags, apart from the decoder.
func unknownKey(n *yaml.Node, t reflect.Type, path string, visits *int) string {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if *visits++; *visits > 1<<20 {
		return ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, item := range n.Content {
			if k := unknownKey(item, t.Elem(), path+"[]", visits); k != "" {
				return k
			}
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.ShortTag() == "!!merge" {
				if bad := unknownKey(v, reflect.SliceOf(t), path, visits); bad != "" {
					return bad
				}
				if bad := unknownKey(v, t, path, visits); bad != "" {
					return bad
				}
				continue
			}
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				return path + "." + k.Value
			}
			if !strings.HasSuffix(f.Tag.Get("yaml"), ",keyed") {
				if bad := unknownKey(v, f.Type, path+"."+k.Value, visits); bad != "" {
					return bad
				}
				continue
			}
			for v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			for j := 1; j < len(v.Content); j += 2 {
				if bad := unknownKey(v.Content[j], f.Type.Elem(), path+"."+k.Value+".*", visits); bad != "" {
					return bad
				}
			}
		}
	}
	return ""
}

// fieldByTag finds the field of struct t whose yaml tag names key.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key && name != "-" && name != "" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// An upstream's env entry or header whose ${VAR} this shell does not set
// (an imported client config names variables to set where the gateway
// runs) loads with a warning, and the upstream is reached without it;
// anywhere
// else — the judge's settings, say — an unset variable is still an
// error. A header is left out like an env entry: never sent with an empty
// token.
func TestUnsetVariableInUpstreamEnv(t *testing.T) {
	dir := testdir.New(t)
	file := filepath.Join(dir, "gatehouse.yaml")
	write := func(text string) {
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := func(k string) (string, bool) {
		if k == "SET" {
			return "yes", true
		}
		return "", false
	}
	write("workspaces:\n  dev:\n    upstreams:\n      - name: kid\n        command: srv\n        env: [\"TOKEN=${GITHUB_TOKEN}\", \"MODE=${SET}\"]\n")
	cfg, err := load(file, env)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	up := cfg.Workspaces[0].Upstreams[0]
	if !slices.Equal(up.Env, []string{"MODE=yes"}) {
		t.Errorf("env = %q; want only MODE=yes", up.Env)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "env[0]") || !strings.Contains(cfg.Warnings[0], "GITHUB_TOKEN is not set") ||
		!strings.Contains(cfg.Warnings[0], "starts without this entry") {
		t.Errorf("warnings = %q; want one naming env[0] and GITHUB_TOKEN", cfg.Warnings)
	}
	write("workspaces:\n  dev:\n    upstreams:\n      - name: web\n        url: http://127.0.0.1:1/mcp\n        headers: [\"Authorization=Bearer ${GITHUB_TOKEN}\"]\n")
	cfg, err = load(file, env)
	if err != nil || len(cfg.Workspaces[0].Upstreams[0].Headers) != 0 || len(cfg.Warnings) != 1 {
		t.Errorf("an unset variable in a header: %v, headers %q, warnings %q; want the header left out, never sent empty", err, cfg.Workspaces[0].Upstreams[0].Headers, cfg.Warnings)
	}
	write("judge: {provider: openai, model: m, base_url: \"${JUDGE_URL}\"}\nworkspaces:\n  dev: {}\n")
	if _, err := load(file, env); err == nil || !strings.Contains(err.Error(), "JUDGE_URL is not set") {
		t.Errorf("an unset variable outside an upstream's env and headers: %v; want an error", err)
	}
}
