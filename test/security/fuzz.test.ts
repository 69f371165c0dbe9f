/**
 * The differential request fuzzer (test/fuzz/) in CI: a fixed seed, a bounded run, zero
 * findings. Each case goes through Portico and a real nginx (when installed) to recording
 * origins while two victim clients keep asking Portico for their own resources; the oracle
 * (test/fuzz/oracle.ts) flags smuggled or altered requests, route bypasses, forwarded
 * hop-by-hop / nominated / underscore / spoofed forwarding headers, cross-talk between
 * clients, stalls, crashes, and requests Portico forwards where nginx answers 400.
 *
 * Two runs. The first leaves out the cases that trigger the bugs issue 12 lists (and those this
 * fuzzer found, test/security/fuzz-findings.test.ts) and must be clean today. The second is the
 * whole generator and tolerates nothing; it is `todo` until those fixes are merged, then the
 * lead drops the mark.
 * A failure writes each finding to fuzz-findings/ with its exact bytes; replay one with
 * `npm run fuzz -- --seed 12 --case N`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz, type FuzzReport } from '../fuzz/run.js';
import { KNOWN_BUG_LABELS } from '../fuzz/generate.js';

const SEED = 12;

function explain(report: FuzzReport): string {
  const lines = report.findings.slice(0, 10).map((f) => `case ${f.case} ${f.severity} ${f.class}: ${f.detail}`);
  return `${report.table}\n\n${lines.join('\n')}`;
}

/**
 * Findings whose fix is pending in another package's files, each a `todo` regression test in
 * fuzz-findings.test.ts: no case label selects them (any refused request with another behind
 * it), so the first run tolerates their class. The second run does not.
 */
const PENDING_CLASSES = new Set(['after-refusal', 'after-framing-refusal']);

/** Generous bounds: under a loaded CI machine a slow answer must not read as a stall. */
const BOUNDS = { stallMs: 5000, victimTimeoutMs: 10_000 };

test('fuzzer: no findings outside the bug classes issue 12 already lists (seed 12, 20 s)', { timeout: 120_000 }, async (t) => {
  const report = await runFuzz({ seed: SEED, seconds: 20, skip: KNOWN_BUG_LABELS, findingsDir: 'fuzz-findings', ...BOUNDS });
  t.diagnostic(report.table);
  assert.ok(report.cases > 100, `only ${report.cases} cases ran`);
  const open = report.findings.filter((f) => !PENDING_CLASSES.has(f.class));
  assert.equal(open.length, 0, explain({ ...report, findings: open }));
});

test(
  'fuzzer: no findings at all (seed 12, 40 s)',
  { timeout: 180_000, todo: 'until issue 12 items 1, 2, 3, 4, 5, 14 and the fuzz-findings.test.ts todos are fixed and merged' },
  async (t) => {
    const report = await runFuzz({ seed: SEED, seconds: 40, findingsDir: 'fuzz-findings', ...BOUNDS });
    t.diagnostic(report.table);
    assert.ok(report.cases > 200, `only ${report.cases} cases ran`);
    assert.equal(report.findings.length, 0, explain(report));
  },
);
