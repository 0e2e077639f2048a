// conformance-compare.mjs compares two runs of the MCP conformance suite's
// server scenarios: one against a server directly, one against the same
// server behind Gatehouse. A scenario that passed directly and failed
// through the gateway is run again on both sides; it is a regression unless
// it also fails now and then when run directly (a flaky scenario, which
// says nothing about the gateway). Exit status: 0 no regression, 1
// regressions or unusable results.
//
// Usage (scripts/conformance.sh runs it with Node 22):
//   node conformance-compare.mjs --suite SUITE_JS --work DIR \
//     --direct DIR --direct-url URL --gateway DIR --gateway-url URL [--retries N]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    suite: { type: "string" },
    work: { type: "string" },
    direct: { type: "string" },
    "direct-url": { type: "string" },
    gateway: { type: "string" },
    "gateway-url": { type: "string" },
    retries: { type: "string", default: "4" },
  },
});
for (const name of ["suite", "work", "direct", "direct-url", "gateway", "gateway-url"]) {
  if (!opt[name]) {
    console.error(`conformance-compare: --${name} is required`);
    process.exit(2);
  }
}
const retries = Number.parseInt(opt.retries, 10);
const say = (line) => console.log(`conformance: ${line}`);

// results reads the suite's result directories (server-SCENARIO-TIMESTAMP/
// checks.json) under dir. A scenario passes when it has checks and none of
// them is a FAILURE (WARNING and INFO do not fail it).
function results(dir) {
  const out = new Map();
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:-\d{3})?Z$/.exec(entry);
    if (!m) continue;
    let checks = [];
    try {
      checks = JSON.parse(readFileSync(join(dir, entry, "checks.json"), "utf8"));
    } catch {
      checks = [];
    }
    const failures = checks
      .filter((c) => c.status === "FAILURE")
      .map((c) => `${c.id}: ${c.errorMessage ?? c.description}`);
    out.set(m[1], { passed: checks.length > 0 && failures.length === 0, failures });
  }
  return out;
}

// runOnce runs one scenario against url and reports whether it passed.
function runOnce(url, scenario) {
  const dir = mkdtempSync(join(opt.work, "rerun-"));
  spawnSync(process.execPath, [opt.suite, "server", "--url", url, "--scenario", scenario, "--output-dir", dir], {
    stdio: "ignore",
    timeout: 120_000,
  });
  return results(dir).get(scenario) ?? { passed: false, failures: ["no result file"] };
}

const direct = results(opt.direct);
const gateway = results(opt.gateway);
if (direct.size === 0) {
  say(`the suite left no results in ${opt.direct}; see ${opt.direct}.log`);
  process.exit(1);
}

const passDirect = [...direct].filter(([, r]) => r.passed).map(([s]) => s).sort();
const failDirect = [...direct].filter(([, r]) => !r.passed).map(([s]) => s).sort();
const passGateway = [...gateway].filter(([, r]) => r.passed).map(([s]) => s);
say(`${direct.size} scenarios; ${passDirect.length} pass directly, ${passGateway.length} pass through the gateway`);
if (failDirect.length > 0) {
  say(`fail directly, so not compared: ${failDirect.join(", ")}`);
}

const regressions = [];
for (const scenario of passDirect) {
  const got = gateway.get(scenario);
  if (got?.passed) continue;
  let directPasses = 0;
  let gatewayPasses = 0;
  let lastFailures = got?.failures ?? ["no result file through the gateway"];
  for (let i = 0; i < retries; i++) {
    if (runOnce(opt["direct-url"], scenario).passed) directPasses++;
    const again = runOnce(opt["gateway-url"], scenario);
    if (again.passed) gatewayPasses++;
    else lastFailures = again.failures;
  }
  const counts = `reruns: direct ${directPasses}/${retries}, gateway ${gatewayPasses}/${retries}`;
  if (directPasses < retries) {
    say(`flaky even directly, not held against the gateway: ${scenario} (${counts})`);
    continue;
  }
  regressions.push(scenario);
  say(`REGRESSION ${scenario}: passes directly, fails through the gateway (${counts})`);
  for (const f of lastFailures) say(`  ${f}`);
}

for (const scenario of failDirect) {
  if (gateway.get(scenario)?.passed) say(`note: ${scenario} fails directly but passed through the gateway`);
}

if (regressions.length > 0) {
  say(`FAILED: ${regressions.length} scenario(s) pass directly but not through the gateway: ${regressions.join(", ")}`);
  process.exit(1);
}
say("OK: every scenario that passes directly passes through the gateway");
