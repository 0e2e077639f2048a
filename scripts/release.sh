#!/usr/bin/env bash
# Builds the release binaries of gatehouse into dist/, reproducibly: the
# same commit and toolchain give the same bytes (-trimpath, no build ID
# of the machine, the version and commit set by the script).
#
#   scripts/release.sh v0.3.0            # every target this machine can build
#
# SQLite (go-sqlite3) needs cgo, so each target needs a C compiler for it:
#   linux/amd64    the host gcc (on Linux amd64)
#   linux/arm64    aarch64-linux-gnu-gcc   (Debian: gcc-aarch64-linux-gnu)
#   windows/amd64  x86_64-w64-mingw32-gcc  (Debian: gcc-mingw-w64-x86-64)
#   darwin/arm64,  clang from Xcode's command-line tools, on a Mac:
#   darwin/amd64   macOS's SDK cannot be redistributed, so these two are
#                  built on macOS (this script there builds them both)
# A target whose compiler is missing is skipped, and said so.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:?usage: scripts/release.sh VERSION (e.g. v0.3.0)}
commit=$(git rev-parse --short=12 HEAD)
if [ -n "$(git status --porcelain)" ]; then
  commit="$commit-modified" # not a release: the tree has changes
fi
mkdir -p dist
ldflags="-s -w -buildid= -X main.version=$version -X main.buildCommit=$commit"

build() { # GOOS GOARCH CC
  local goos=$1 goarch=$2 cc=$3 out="dist/gatehouse-$version-$1-$2"
  [ "$goos" = windows ] && out="$out.exe"
  if ! command -v "$cc" >/dev/null; then
    echo "skip $goos/$goarch: no $cc"
    return
  fi
  CC=$cc GOOS=$goos GOARCH=$goarch CGO_ENABLED=1 \
    go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out" ./cmd/gatehouse
  echo "built $out"
}

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64)
    build linux amd64 gcc
    build linux arm64 aarch64-linux-gnu-gcc
    build windows amd64 x86_64-w64-mingw32-gcc
    ;;
  Darwin/*)
    build darwin arm64 clang
    build darwin amd64 clang
    ;;
  *)
    echo "build on Linux amd64 (linux and windows targets) or on macOS (darwin targets)" >&2
    exit 2
    ;;
esac
(cd dist && sha256sum gatehouse-"$version"-* 2>/dev/null || shasum -a 256 gatehouse-"$version"-*) > "dist/SHA256SUMS-$version"
echo "checksums in dist/SHA256SUMS-$version"
