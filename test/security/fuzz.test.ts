/**
 * The differential request fuzzer (test/fuzz/) in CI: a fixed seed, a bounded run, zero
 * findings. Each case goes through Portico and a real nginx (when installed) to recording
 * origins while two victim clients keep asking Portico for their own resources; the oracle
 * (test/fuzz/oracle.ts) flags smuggled or altered requests, route bypasses, forwarded
 * hop-by-hop / nominated / underscore / spoofed forwarding headers, cross-talk between
 * clients, stalls, crashes, and requests Portico forwards where nginx answers 400.
 *
 * One run over the whole generator, which must come out clean.
 * A failure writes each finding to fuzz-findings/ with its exact bytes; replay one with
 * `npm run fuzz -- --seed 12 --case N`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz, type FuzzReport } from '../fuzz/run.js';

const SEED = 12;

function explain(report: FuzzReport): string {
  const lines = report.findings.slice(0, 10).map((f) => `case ${f.case} ${f.severity} ${f.class}: ${f.detail}`);
  return `${report.table}\n\n${lines.join('\n')}`;
}

/** Generous bounds: under a loaded CI machine a slow answer must not read as a stall. */
const BOUNDS = { stallMs: 5000, victimTimeoutMs: 10_000 };

test('fuzzer: no findings (seed 12, 45 s)', { timeout: 180_000 }, async (t) => {
  const report = await runFuzz({ seed: SEED, seconds: 45, findingsDir: 'fuzz-findings', ...BOUNDS });
  t.diagnostic(report.table);
  assert.ok(report.cases > 200, `only ${report.cases} cases ran`);
  assert.equal(report.findings.length, 0, explain(report));
});
