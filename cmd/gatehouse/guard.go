package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// databaseSuffixes are the files SQLite keeps beside a database.
var databaseSuffixes = []string{"", "-wal", "-shm", "-journal"}

// guardSpec lists the files of cfg that no tool call may read or write
// (DESIGN §7), and where each upstream's relative paths may lead; databases
// are verdict logs open besides cfg's own. It is built afresh for every
// config, so a reload protects what the new config reads. Every path is
// listed as configured and with its symbolic links resolved.
func guardSpec(cfg *config.Config, databases ...string) policy.GuardSpec {
	var spec policy.GuardSpec
	addFile := func(p string) {
		if p != "" {
			spec.Files = appendSpellings(spec.Files, p)
		}
	}
	addFile(cfg.File)
	for _, ws := range cfg.Workspaces {
		addFile(ws.File)
	}
	for _, db := range append([]string{cfg.Audit.Database}, databases...) {
		if db == "" {
			continue
		}
		for _, s := range databaseSuffixes {
			addFile(db + s)
		}
		// The journals of calls in flight: a record of every call
		// forwarded, until the database holds it.
		spec.Dirs = appendSpellings(spec.Dirs, audit.JournalDir(db))
	}
	if cfg.WorkspacesDir != "" {
		spec.Dirs = appendSpellings(spec.Dirs, cfg.WorkspacesDir)
	}
	cwd, _ := os.Getwd()
	if cwd != "" {
		spec.DefaultBases = appendSpellings(nil, cwd)
	}
	spec.Home, _ = os.UserHomeDir()
	spec.Bases = map[string][]string{}
	for _, ws := range cfg.Workspaces {
		for _, u := range ws.Upstreams {
			spec.Bases[policy.UpstreamKey(ws.Name, u.Name)] = upstreamBases(u, spec.DefaultBases)
		}
	}
	return spec
}

// upstreamBases are the directories an upstream may read a relative path
// against: the gateway's working directory, a stdio child's own, and
// every argument of its command that names a directory (the roots of
// server-filesystem and its like), or looks like an absolute path.
func upstreamBases(u config.Upstream, cwd []string) []string {
	bases := append([]string(nil), cwd...)
	if u.Command == "" {
		return bases
	}
	if u.Dir != "" {
		bases = appendSpellings(bases, u.Dir)
	}
	for _, a := range u.Args {
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
			a = v
		}
		if a == "" || strings.HasPrefix(a, "-") {
			continue
		}
		p := a
		if !filepath.IsAbs(p) {
			p = filepath.Join(u.Dir, p)
		}
		if fi, err := os.Stat(p); err == nil && fi.IsDir() || filepath.IsAbs(a) {
			bases = appendSpellings(bases, p)
		}
	}
	return bases
}

// appendSpellings appends p, cleaned, and p with its symbolic links
// resolved when that differs (policy.RealPath).
func appendSpellings(list []string, p string) []string {
	p = filepath.Clean(p)
	list = append(list, p)
	if r, ok := policy.RealPath(p); ok && r != p {
		list = append(list, r)
	}
	return list
}
