package gatehouse_test

import (
	"os/exec"
	"strings"
	"testing"
)

// mod is the module's import path, with a trailing slash.
const mod = "github.com/gatehouse-mcp/gatehouse/"

// TestImportGraph pins the direction of imports between Gatehouse's
// packages (DESIGN §2): cmd → gateway → workspace → upstream, gateway →
// enforce, and gateway, enforce, workspace, llmjudge, audit → policy →
// policy/detect.
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		imports[strings.TrimPrefix(f[0], mod)] = f[1:]
	}
	// forbidden[p] lists import-path prefixes package p must not import.
	forbidden := map[string][]string{
		"policy": {mod, "github.com/mark3labs/", "net/http", "github.com/spf13/"},
		// The detectors and the JSON document underneath policy import
		// nothing of the module.
		"policy/detect":             {mod, "github.com/mark3labs/", "net/http", "github.com/spf13/"},
		"policy/internal/jsondoc":   {mod, "github.com/mark3labs/", "net/http", "github.com/spf13/"},
		"policy/internal/prefilter": {mod, "github.com/mark3labs/", "net/http", "github.com/spf13/"},
		"upstream":                  {mod + "policy", mod + "gateway", mod + "workspace", mod + "cmd", mod + "audit", mod + "llmjudge"},
		"workspace":                 {mod + "gateway", mod + "cmd"},
		"gateway":                   {mod + "cmd", mod + "audit", mod + "llmjudge"},
		"enforce":                   {mod + "gateway", mod + "cmd", mod + "audit", mod + "llmjudge", mod + "workspace", mod + "upstream", "net/http", "github.com/spf13/"},
		"llmjudge":                  {mod + "gateway", mod + "workspace", mod + "upstream", mod + "audit", mod + "cmd"},
		"audit":                     {mod + "gateway", mod + "workspace", mod + "upstream", mod + "llmjudge", mod + "cmd"},
		"config":                    {mod + "gateway", mod + "cmd", mod + "audit", mod + "llmjudge", "github.com/mark3labs/", "github.com/spf13/", "net/http"},
		// The client config formats: files in, files out, nothing of the gateway.
		"onboard": {mod + "gateway", mod + "cmd", mod + "audit", mod + "llmjudge", mod + "upstream", mod + "workspace", mod + "enforce", "github.com/mark3labs/", "github.com/spf13/", "net/http"},
	}
	for pkg, imps := range imports {
		for _, imp := range imps {
			if strings.HasPrefix(imp, "github.com/spf13/viper") && pkg != "cmd/gatehouse" {
				t.Errorf("%s imports viper; only cmd/gatehouse may", pkg)
			}
			if strings.HasPrefix(imp, "github.com/tmc/langchaingo") {
				t.Errorf("%s imports langchaingo; the judge speaks to providers with its own clients (llmjudge.Model)", pkg)
			}
			for _, bad := range forbidden[pkg] {
				if strings.HasPrefix(imp, bad) && !allowed(pkg, imp) {
					t.Errorf("%s imports %s; DESIGN §2 forbids it", pkg, imp)
				}
			}
		}
	}
	for _, pkg := range []string{"config", "enforce", "gateway", "gateway/internal/stdiofast", "policy", "policy/detect", "policy/internal/jsondoc", "policy/internal/prefilter"} {
		if len(imports[pkg]) == 0 {
			t.Fatalf("go list found no %s package: %v", pkg, imports)
		}
	}
}

// allowed reports whether pkg may import imp although a forbidden prefix
// matches it: itself, and policy its own packages underneath
// (policy/detect, policy/internal/...).
func allowed(pkg, imp string) bool {
	return imp == mod+pkg || pkg == "policy" && strings.HasPrefix(imp, mod+"policy/")
}
