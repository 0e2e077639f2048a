#!/usr/bin/env bash
# conformance.sh runs the server scenarios of the MCP conformance suite
# (@modelcontextprotocol/conformance, installed by `npm ci`) against mcp-go's
# conformance server twice: directly, and through `gatehouse serve --http`
# with a config whose single workspace has that server as its one upstream
# (url:, prefix: false). Every scenario that passes directly must pass
# through the gateway; otherwise it exits 1 and lists the regressions
# (scripts/conformance-compare.mjs decides, rerunning flaky scenarios).
#
# Usage: scripts/conformance.sh
# Environment:
#   CONFORMANCE_RETRIES  reruns of a scenario that failed only through the gateway (default 4)
#   CONFORMANCE_KEEP=1   keep the temporary directory with the result files even on success
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node="$root/node_modules/.bin/node"
suite="$root/node_modules/@modelcontextprotocol/conformance/dist/index.js"

say() { echo "conformance: $*"; }
die() { echo "conformance: $*" >&2; exit 1; }

for f in "$node" "$suite"; do
  [[ -e $f ]] || die "$f is missing: run npm ci at the repository root"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-conformance.XXXXXX")
pids=()
cleanup() {
  local status=$?
  local i
  # Newest first: the gateway stops before its upstream does.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  if [[ $status -eq 0 && ${CONFORMANCE_KEEP:-} != 1 ]]; then
    rm -rf "$work"
  else
    echo "conformance: logs and result files are in $work"
  fi
}
trap cleanup EXIT

# free_port prints a TCP port that was free on 127.0.0.1 a moment ago.
free_port() {
  "$node" -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# wait_for_port HOST PORT PID: wait up to 30 s for HOST:PORT to accept
# connections while process PID lives.
wait_for_port() {
  local i
  for ((i = 0; i < 300; i++)); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# run_suite URL DIR: run the active server suite against URL, results in DIR
# (the suite exits 1 when any scenario fails; the result files tell).
run_suite() {
  local status=0
  timeout 900 "$node" "$suite" server --url "$1" --output-dir "$2" >"$2.log" 2>&1 || status=$?
  if ((status > 1)); then say "the suite exited $status against $1; see $2.log"; fi
  grep -E '^Total:' "$2.log" | sed "s|^|conformance: $(basename "$2"): |" || true
}

say "building mcp-go's conformance server and gatehouse in $work"
(cd "$root" && go build -o "$work/conformance-server" github.com/mark3labs/mcp-go/examples/conformance)
(cd "$root" && go build -o "$work/gatehouse" ./cmd/gatehouse)

port=$(free_port)
CONFORMANCE_ADDR="127.0.0.1:$port" "$work/conformance-server" >"$work/conformance-server.log" 2>&1 &
pids+=($!)
wait_for_port 127.0.0.1 "$port" "${pids[-1]}" ||
  die "mcp-go's conformance server did not listen on 127.0.0.1:$port: $(tail -5 "$work/conformance-server.log")"
direct_url="http://127.0.0.1:$port/mcp"

cat >"$work/gatehouse.yaml" <<YAML
version: 1
audit:
  database: $work/audit.db
workspaces:
  conformance:
    upstreams:
      - name: conformance
        url: $direct_url
        prefix: false
YAML
: >"$work/gatehouse.log"
"$work/gatehouse" serve --config "$work/gatehouse.yaml" --http 127.0.0.1:0 2>>"$work/gatehouse.log" &
pids+=($!)
addr=
for ((i = 0; i < 600; i++)); do
  addr=$(sed -nE 's/.*msg="?listening"? .*addr="?([^ "]+).*/\1/p' "$work/gatehouse.log" | head -1 || true)
  [[ -n $addr ]] && break
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.1
done
[[ -n $addr ]] || die "gatehouse did not log 'msg=listening addr=': $(tail -20 "$work/gatehouse.log")"
gateway_url="http://$addr/mcp"

say "running the suite directly against $direct_url"
run_suite "$direct_url" "$work/direct"
say "running the suite through gatehouse at $gateway_url"
run_suite "$gateway_url" "$work/gateway"

"$node" "$root/scripts/conformance-compare.mjs" \
  --suite "$suite" --work "$work" --retries "${CONFORMANCE_RETRIES:-4}" \
  --direct "$work/direct" --direct-url "$direct_url" \
  --gateway "$work/gateway" --gateway-url "$gateway_url"
