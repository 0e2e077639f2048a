package config

// The built-in policy templates that a config's include: adds to its
// global policies (README "Policy templates"). A template is a YAML file
// under templates/ with one key, policies:, in exactly the shape of the
// config's own policies: list, so the loader's decoder and validation
// read it like any user policy.

import (
	"embed"
	"fmt"
	"slices"
	"strconv"
)

//go:embed templates/*.yaml
var templateFS embed.FS

// knownTemplates are the built-in policy templates that include may name.
var knownTemplates = []string{"strict-production", "development-permissive", "code-assistant", "financial-compliance"}

// template is the shape of a template file.
type template struct {
	Policies []Policy `yaml:"policies" item:"policy"`
}

// templateFile is the name under which template name appears in errors
// and in the File of its policies: template:NAME.
func templateFile(name string) string { return "template:" + name }

// loadTemplate decodes and validates the built-in template name on its
// own, with no environment, and returns its policies in file order; an
// invalid template yields Errors. A template that does not load is a bug
// of this build, which templates_test.go keeps out.
func loadTemplate(name string) ([]Policy, error) {
	l := newLoader(func(string) (string, bool) { return "", false })
	ps := l.templatePolicies(name)
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	return ps, nil
}

// templatePolicies decodes and validates template name with the same
// decoder and validation as the config's policies. Each policy's File is
// template:NAME and its Line the line in the template; problems are
// recorded under that file name.
func (l *loader) templatePolicies(name string) []Policy {
	file := templateFile(name)
	data, err := templateFS.ReadFile("templates/" + name + ".yaml")
	if err != nil {
		l.errs = append(l.errs, &Error{File: file, Err: fmt.Errorf("read built-in template: %w", err)})
		return nil
	}
	doc, ok := l.parse(file, data)
	if !ok {
		return nil
	}
	var t template
	(&decoder{l: l, file: file, abs: file}).into(doc, "", &t)
	// A template cannot know a config's upstreams: it names none.
	l.validatePolicies(t.Policies, nil, "a template")
	return t.Policies
}

// includeTemplates appends the policies of each template cfg.Include
// names to cfg.Policies, after the file's own global policies and in
// include order. A template policy whose name is already taken by a global
// policy (the file's own or an earlier template's) is an error on the
// include entry that brings it in. Names validateTop rejected (unknown or
// included twice) are skipped.
func (l *loader) includeTemplates(cfg *Config) {
	defined := map[string]string{} // global policy name → where it is defined
	for _, p := range cfg.Policies {
		if _, dup := defined[p.Name]; !dup && p.Name != "" {
			defined[p.Name] = l.mainFile + ":" + strconv.Itoa(p.Line)
		}
	}
	included := map[string]bool{}
	for i, name := range cfg.Include {
		if !slices.Contains(knownTemplates, name) || included[name] {
			continue
		}
		included[name] = true
		field := fieldIndex("include", i)
		for _, p := range l.templatePolicies(name) {
			if where, dup := defined[p.Name]; dup {
				l.report(l.mainFile, field, name, fmt.Errorf("policy %q is also defined at %s", p.Name, where))
			} else {
				defined[p.Name] = templateFile(name) + ":" + strconv.Itoa(p.Line)
			}
			cfg.Policies = append(cfg.Policies, p)
		}
	}
}
