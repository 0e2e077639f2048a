package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
)

// TestTemplatesLoad decodes and validates every built-in template as the
// loader does: a template that does not load, or that breaks the rules
// templates keep, is a bug of the build.
func TestTemplatesLoad(t *testing.T) {
	for _, name := range knownTemplates {
		t.Run(name, func(t *testing.T) {
			ps, err := loadTemplate(name)
			if err != nil {
				t.Fatalf("loadTemplate(%s) = %v; want no error", name, err)
			}
			if len(ps) == 0 {
				t.Fatalf("loadTemplate(%s) = no policies", name)
			}
			for _, p := range ps {
				if !strings.HasPrefix(p.Name, name+"-") {
					t.Errorf("loadTemplate(%s): policy %q; want its name to start with %q", name, p.Name, name+"-")
				}
				if p.File != "template:"+name || p.Line <= 0 {
					t.Errorf("loadTemplate(%s): policy %q at %s:%d; want template:%s and its line", name, p.Name, p.File, p.Line, name)
				}
				if p.Action == "" || p.Rules != "" {
					t.Errorf("loadTemplate(%s): policy %q is not deterministic; templates may not need the judge", name, p.Name)
				}
				if p.Strict != nil || p.Enabled != nil || len(p.Upstreams) > 0 {
					t.Errorf("loadTemplate(%s): policy %q sets strict, enabled or upstreams; a template leaves them to the config", name, p.Name)
				}
				if strings.TrimSpace(p.Description) == "" {
					t.Errorf("loadTemplate(%s): policy %q has no description", name, p.Name)
				}
				switch p.Action {
				case "block", "require_approval", "rate_limit":
					if strings.TrimSpace(p.Message) == "" {
						t.Errorf("loadTemplate(%s): %s policy %q has no message for the person", name, p.Action, p.Name)
					}
				}
			}
		})
	}
}

// TestTemplateFiles checks that the embedded templates are exactly the
// known ones, and that none depends on the environment.
func TestTemplateFiles(t *testing.T) {
	files, err := fs.Glob(templateFS, "templates/*")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".yaml"))
		data, err := templateFS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "${") {
			t.Errorf("%s contains ${: a template must read the same in every environment", f)
		}
	}
	want := slices.Sorted(slices.Values(knownTemplates))
	if !slices.Equal(names, want) {
		t.Errorf("embedded templates = %v; want %v", names, want)
	}
	if _, err := loadTemplate("no-such-template"); err == nil {
		t.Errorf("loadTemplate(no-such-template) = nil error")
	}
}

// writeConfig writes body as gatehouse.yaml in a new directory and
// returns its path.
// TestLoadIncludeAll includes every template: the file's own global
// policies come first, then each template's in include order, each
// keeping where it came from.
func TestLoadIncludeAll(t *testing.T) {
	include := []string{"financial-compliance", "code-assistant", "strict-production", "development-permissive"}
	path := writeConfigText(t, fmt.Sprintf(`include: [%s]
policies:
  - name: block-shell
    tools: ["*shell*"]
    action: block
workspaces:
  dev:
    upstreams: [{name: fs, command: srv}]
`, strings.Join(include, ", ")))
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load(include all) = %v", err)
	}
	want := []string{"block-shell"}
	for _, name := range include {
		ps, err := loadTemplate(name)
		if err != nil {
			t.Fatalf("loadTemplate(%s) = %v", name, err)
		}
		for _, p := range ps {
			want = append(want, p.Name)
		}
	}
	var got []string
	for _, p := range cfg.Policies {
		got = append(got, p.Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Load(include all): global policies =\n%v\nwant\n%v", got, want)
	}
	if p := cfg.Policies[0]; p.File != cfg.File || p.Line != 3 {
		t.Errorf("Load(include all): %s at %s:%d; want %s:3", p.Name, p.File, p.Line, cfg.File)
	}
	for _, p := range cfg.Policies[1:] {
		tmpl := strings.TrimPrefix(p.File, "template:")
		if !strings.HasPrefix(p.File, "template:") || !strings.HasPrefix(p.Name, tmpl+"-") || p.Line <= 0 {
			t.Errorf("Load(include all): %s at %s:%d; want it at its template's line", p.Name, p.File, p.Line)
		}
	}
	if len(cfg.Include) != len(include) {
		t.Errorf("Load(include all): Include = %v; want %v", cfg.Include, include)
	}
}

// TestLoadIncludeCollision checks that a template may not bring in
// a policy whose name a global policy already has.
func TestLoadIncludeCollision(t *testing.T) {
	path := writeConfigText(t, `include: [strict-production, code-assistant]
policies:
  - name: allow-all
    action: allow
  - name: code-assistant-block-secrets
    action: warn
workspaces:
  dev: {}
`)
	_, err := Load(path)
	var ces Errors
	if !errors.As(err, &ces) {
		t.Fatalf("Load(collision) = %v; want Errors", err)
	}
	want := fmt.Sprintf(`%s:1: include[1]: "code-assistant": policy "code-assistant-block-secrets" is also defined at %s:5`, path, path)
	if len(ces) != 1 || ces[0].Error() != want {
		t.Errorf("Load(collision) =\n%v\nwant\n%s", err, want)
	}
	if ces[0].Field != "include[1]" || ces[0].Value != "code-assistant" {
		t.Errorf("Load(collision): field %q value %q; want include[1] \"code-assistant\"", ces[0].Field, ces[0].Value)
	}
}

// writeConfigText writes body as gatehouse.yaml in a new directory and
// returns its path.
func writeConfigText(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(testdir.New(t), "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
