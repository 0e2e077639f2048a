package main

import (
	"runtime"
	"strings"
	"testing"
)

// --version tells two binaries apart: release version, commit, Go version
// and platform.
func TestBuildVersion(t *testing.T) {
	defer func(v, c string) { version, buildCommit = v, c }(version, buildCommit)
	version, buildCommit = "v1.2.3", "0123456789ab"
	got := buildVersion()
	for _, want := range []string{"v1.2.3", "0123456789ab", runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(got, want) {
			t.Errorf("buildVersion() = %q; want it to hold %q", got, want)
		}
	}
	out, err := runCLI(t, "--version")
	if err != nil || !strings.Contains(out, "v1.2.3 (0123456789ab") {
		t.Errorf("gatehouse --version = %q, %v", out, err)
	}
}
