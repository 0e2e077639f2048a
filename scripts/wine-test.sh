#!/usr/bin/env bash
# Runs the Windows test binaries of the packages that pass on Windows
# under Wine (Debian's wine64), as CI does (.ci/run, "windows tests (Wine)").
#
# Wine 8.0 (Debian 12) has no bcryptprimitives.dll, which the Windows
# runtime of Go 1.22 and later loads first (for ProcessPrng): every Go
# Windows binary stops at once with "bcryptprimitives.dll not found".
# scripts/wine/bcryptprimitives.c is a stand-in that takes its random
# bytes from RtlGenRandom; it is built with MinGW-w64 and put in the Wine
# prefix's system32, where Go looks for it.
#
# Wine 8.0 also lacks FileDispositionInformationEx, through which
# os.RemoveAll deletes files on Windows: t.TempDir's cleanup fails every
# test that wrote a file ("unlinkat …: Invalid function"). The tests of
# these packages take their directories from internal/testdir, which
# empties them with os.Remove (DeleteFile) first.
#
# Every binary is built with MinGW-w64's cgo, as gatehouse.exe is: audit,
# enforce and cmd/gatehouse open the verdict log, SQLite through
# go-sqlite3. Their tests run under Wine, the journal of calls in flight
# (LockFileEx) and a gateway killed with calls in flight
# (TestStartOutlivesAKill re-runs the test binary as the gateway) included.
# A database or journal the log holds open cannot be removed on Windows
# (no FILE_SHARE_DELETE; Wine refuses it too): the tests that remove one
# expect that there (audit.RemoveHeld). Wine does not check that
# truncating a file needs FILE_WRITE_DATA, as Windows does;
# TestJournalMayBeEmptied asks the journal's handle for its access instead.
#
# The upstream package's tests start the stdio test server as a real
# child (supervision: the Job Object, restarts, PATH/PATHEXT lookup, the
# environment allowlist). The Wine prefix has no Go toolchain to build it
# with, so it is built here for Windows and named by GATEHOUSE_TEST_SERVER
# (upstream/upstreamtest).
#
# Packages and tests left out, and why:
#   policy TestGuard/symbolic_link: Wine 8's CreateSymbolicLink reports
#     success and makes no link (os.Symlink returns nil, the link does not
#     exist), so there is no link for the guard to resolve;
#   cmd/gatehouse: only TestServeDrainsOnStopSignal runs (Ctrl-C drains
#     serve; the test binary starts itself as the gateway). Its other tests
#     build the gatehouse binary with the Go toolchain;
#   gateway, gateway/internal/stdiofast, cmd/gatehouse-bench, e2e and the
#     module's root (deps_test.go): they start Node upstreams or run the Go
#     toolchain (go build, go list), neither of which the Wine prefix has.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${WINE_TEST_DIR:-$(mktemp -d)}
mkdir -p "$work"
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEARCH=win64

wine=$(command -v wine64 || true)
[ -x /usr/lib/wine/wine64 ] && wine=/usr/lib/wine/wine64
if [ -z "$wine" ]; then
  apt-get update -qq && apt-get install -y -qq wine64 >/dev/null
  wine=/usr/lib/wine/wine64
fi

x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bcryptprimitives.dll" scripts/wine/bcryptprimitives.c -ladvapi32
"$wine" cmd /c exit 0 >/dev/null 2>&1 || true # create the prefix
cp "$work/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"

# The stdio test server, for the upstream package's tests; Wine sees the
# Unix file system as drive Z:.
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -o "$work/stdioserver.exe" ./upstream/upstreamtest/testdata/stdioserver
export GATEHOUSE_TEST_SERVER="Z:$(echo "$work/stdioserver.exe" | tr / '\\')"

# package, the tests to run (a -test.run pattern; - for all), the tests to
# skip (a -test.skip pattern; - for none), and whether they need a console
# (a terminal) to run in
packages=(
  "policy - TestGuard/symbolic_link no"
  "config - - no"
  "onboard - - no"
  "policy/detect - - no"
  "policy/internal/jsondoc - - no"
  "policy/internal/prefilter - - no"
  "llmjudge - - no"
  "llmjudge/llmjudgetest - - no"
  "workspace - - no"
  "audit - - no"
  "enforce - - no"
  "upstream - - no"
  "upstream/upstreamtest - - no"
  "cmd/gatehouse ^TestServeDrainsOnStopSignal$ - yes"
)
failed=0
for entry in "${packages[@]}"; do
  read -r pkg run skip tty <<<"$entry"
  bin="$work/$(echo "$pkg" | tr / _).test.exe"
  # cgo, as gatehouse.exe is built: cmd/gatehouse needs SQLite.
  CC=x86_64-w64-mingw32-gcc GOOS=windows GOARCH=amd64 CGO_ENABLED=1 go test -c -o "$bin" "./$pkg/"
  log="${bin%.exe}.log"
  args=(-test.short -test.v)
  [ "$run" != - ] && args+=(-test.run "$run")
  [ "$skip" != - ] && args+=(-test.skip "$skip")
  status=0
  if [ "$tty" = yes ]; then
    # Wine gives a program a console only on a terminal: script(1) makes
    # one (wide, so that lines are not wrapped), whose control sequences
    # and carriage returns are taken out of the log.
    (cd "$root/$pkg" && timeout 600 script -qec "stty cols 2000; $(printf '%q ' "$wine" "$bin" "${args[@]}")" /dev/null </dev/null) 2>&1 |
      sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\r$//' >"$log" || status=$?
  else
    (cd "$root/$pkg" && timeout 600 "$wine" "$bin" "${args[@]}") >"$log" 2>&1 || status=$?
  fi
  # Every skipped or failed test with its reason (the last message it
  # logged), so that nothing is skipped silently; then the verdict.
  awk -v pkg="$pkg" '
    /^=== RUN/ { reason = "" }
    /^ +[^ ]+\.go:[0-9]+: / { reason = $0; sub(/^ +/, "", reason) }
    /^ *--- (SKIP|FAIL)/ { line = $0; sub(/^ +/, "", line); print pkg ": " line (reason == "" ? "" : ": " reason) }
    /^(PASS|FAIL|ok)/ { print pkg ": " $0 }' "$log"
  if ((status == 0)); then
    echo "$pkg: ok under Wine"
  else
    tail -20 "$log" | sed "s|^|$pkg: |"
    echo "$pkg: FAILED under Wine (exit $status; the whole output is in $log)"
    failed=1
  fi
done
exit $failed
