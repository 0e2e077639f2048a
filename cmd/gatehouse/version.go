package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildCommit is the commit of a release build, set with -ldflags
// "-X main.buildCommit=…" (scripts/release.sh); else Go's own build
// information is read.
var buildCommit string

// buildVersion is what `gatehouse --version` prints: the release version
// (set with -ldflags "-X main.version=v1.2.3"), the commit it was built
// from and when, whether the tree had changes, the Go version and the
// platform — enough to tell two binaries apart. The commit comes from the
// build information Go records (`go build` in a git checkout); a build
// without it says so.
func buildVersion() string {
	commit, when, dirty := "unknown commit", "", false
	if buildCommit != "" {
		commit = buildCommit
	} else if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
				if len(commit) > 12 {
					commit = commit[:12]
				}
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if dirty {
		commit += " (modified)"
	}
	if when != "" {
		commit += " " + when
	}
	return fmt.Sprintf("%s (%s, %s, %s/%s)", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
