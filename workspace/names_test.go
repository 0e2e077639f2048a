package workspace_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/workspace"
)

var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func TestExposedName(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct {
		name             string
		upstream, tool   string
		prefix           bool
		want             string
		wantPrefixLength int // when want is empty: the result starts with this many chars of the input
	}{
		{name: "prefixed", upstream: "fs", tool: "read_file", prefix: true, want: "fs__read_file"},
		{name: "bare", upstream: "fs", tool: "read_file", prefix: false, want: "read_file"},
		{name: "dash kept", upstream: "everything", tool: "get-sum", prefix: true, want: "everything__get-sum"},
		{name: "dots and slashes", upstream: "gh", tool: "repo.issues/list", prefix: true, want: "gh__repo_issues_list"},
		{name: "unicode", upstream: "x", tool: "héllo wörld", prefix: false, want: "h_llo_w_rld"},
		{name: "empty", upstream: "x", tool: "", prefix: false, want: "_"},
		{name: "long", upstream: "up", tool: long, prefix: true, wantPrefixLength: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := workspace.ExposedName(tt.upstream, tt.tool, tt.prefix)
			if !validName.MatchString(got) {
				t.Fatalf("ExposedName(%q, %q) = %q; not a valid MCP tool name", tt.upstream, tt.tool, got)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("ExposedName(%q, %q, %v) = %q; want %q", tt.upstream, tt.tool, tt.prefix, got, tt.want)
			}
			if tt.wantPrefixLength > 0 {
				full := tt.upstream + "__" + tt.tool
				if !strings.HasPrefix(got, full[:tt.wantPrefixLength]) {
					t.Errorf("ExposedName(long) = %q; want it to keep the head %q", got, full[:tt.wantPrefixLength])
				}
				if again := workspace.ExposedName(tt.upstream, tt.tool, tt.prefix); again != got {
					t.Errorf("ExposedName is not deterministic: %q then %q", got, again)
				}
			}
		})
	}
}

func TestExposedNameLongNamesStayDistinct(t *testing.T) {
	head := strings.Repeat("b", 80)
	a := workspace.ExposedName("up", head+"_one", true)
	b := workspace.ExposedName("up", head+"_two", true)
	if a == b {
		t.Fatalf("two long names that differ only in their tails both became %q", a)
	}
	if len(a) != workspace.MaxNameLen || len(b) != workspace.MaxNameLen {
		t.Errorf("shortened names have lengths %d and %d; want %d", len(a), len(b), workspace.MaxNameLen)
	}
}

func FuzzExposedName(f *testing.F) {
	f.Add("fs", "read_file", true)
	f.Add("x", "ünïcödé/../..", false)
	f.Add("", "", true)
	f.Fuzz(func(t *testing.T, up, tool string, prefix bool) {
		got := workspace.ExposedName(up, tool, prefix)
		if !validName.MatchString(got) {
			t.Fatalf("ExposedName(%q, %q, %v) = %q; not a valid MCP tool name", up, tool, prefix, got)
		}
		if got != workspace.ExposedName(up, tool, prefix) {
			t.Fatalf("ExposedName(%q, %q) is not deterministic", up, tool)
		}
	})
}
