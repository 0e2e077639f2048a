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
# audit and enforce open the verdict log, SQLite through go-sqlite3, which
# needs cgo: their binaries are built with MinGW-w64's cgo (the packages
# in $cgo). Their tests run whole under Wine, the journal of calls in
# flight (LockFileEx) and a gateway killed with calls in flight
# (TestStartOutlivesAKill re-runs the test binary as the gateway) included.
# A database or journal the log holds open cannot be removed on Windows
# (no FILE_SHARE_DELETE; Wine refuses it too): the tests that remove one
# expect that there (audit.RemoveHeld). Wine does not check that
# truncating a file needs FILE_WRITE_DATA, as Windows does;
# TestJournalMayBeEmptied asks the journal's handle for its access instead.
#
# Packages and tests left out, and why:
#   policy TestGuard/symbolic_link: Wine 8's CreateSymbolicLink reports
#     success and makes no link (os.Symlink returns nil, the link does not
#     exist), so there is no link for the guard to resolve;
#   upstream, upstream/upstreamtest, gateway, gateway/internal/stdiofast,
#     cmd/gatehouse, cmd/gatehouse-bench, e2e and the module's root
#     (deps_test.go): they run the Go toolchain (go build for a test
#     server or the gatehouse binary, go list) or Node, which the Wine
#     prefix does not have.
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

# package:tests to skip (a -test.skip pattern, or empty)
packages=(
  "policy:TestGuard/symbolic_link"
  "config:"
  "onboard:"
  "policy/detect:"
  "policy/internal/jsondoc:"
  "policy/internal/prefilter:"
  "llmjudge:"
  "llmjudge/llmjudgetest:"
  "workspace:"
  "audit:"
  "enforce:"
)
# packages whose tests open SQLite (go-sqlite3): built with MinGW-w64's cgo
cgo=" audit enforce "
failed=0
for entry in "${packages[@]}"; do
  pkg=${entry%%:*} skip=${entry#*:}
  bin="$work/$(echo "$pkg" | tr / _).test.exe"
  build=(CGO_ENABLED=0)
  [[ $cgo == *" $pkg "* ]] && build=(CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc)
  env GOOS=windows GOARCH=amd64 "${build[@]}" go test -c -o "$bin" "./$pkg/"
  args=(-test.short)
  [ -n "$skip" ] && args+=(-test.skip "$skip")
  if (cd "$root/$pkg" && timeout 600 "$wine" "$bin" "${args[@]}" 2>&1 | tail -20 | grep -E '^(--- FAIL|PASS|FAIL|ok)' | sed "s|^|$pkg: |"; exit "${PIPESTATUS[0]}"); then
    echo "$pkg: ok under Wine"
  else
    echo "$pkg: FAILED under Wine"
    failed=1
  fi
done
exit $failed
