#!/usr/bin/env node
// The differential request fuzzer (test/fuzz/): sends generated HTTP/1.1 and HTTP/2 requests
// through Portico and a real nginx to recording origins and reports where Portico's handling
// breaks the oracle. Usage (after a build; `npm run fuzz` builds first):
//   node scripts/fuzz.mjs [--seconds N] [--seed S] [--case N[,N...]] [--out DIR] [--no-nginx] [--skip-known]
// Writes each finding to DIR (default fuzz-findings/) as JSON with the exact bytes, prints a
// summary table, and exits 1 when there is any finding.
import { runFuzz } from '../dist/test/fuzz/run.js';
import { KNOWN_BUG_LABELS } from '../dist/test/fuzz/generate.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const unknown = args.filter((a, i) => a.startsWith('--') && !['--seconds', '--seed', '--case', '--out', '--no-nginx', '--stall-ms', '--skip-known'].includes(a) && !(i > 0 && args[i - 1].startsWith('--')));
if (unknown.length > 0 || args.includes('--help')) {
  console.error('usage: node scripts/fuzz.mjs [--seconds N] [--seed S] [--case N[,N...]] [--out DIR] [--no-nginx] [--stall-ms MS] [--skip-known]');
  process.exit(2);
}
const seconds = Number(opt('seconds', '60'));
const seed = Number(opt('seed', String(Date.now() % 2 ** 31)));
const cases = opt('case', undefined)?.split(',').map(Number);
const findingsDir = opt('out', 'fuzz-findings');
if (!(seconds > 0) || !Number.isInteger(seed) || (cases && cases.some((n) => !Number.isInteger(n) || n < 0))) {
  console.error('--seconds must be a positive number, --seed an integer, --case non-negative integers');
  process.exit(2);
}
const report = await runFuzz({
  seed,
  seconds,
  cases,
  findingsDir,
  nginx: !args.includes('--no-nginx'),
  // Leaves out the cases that trigger the bugs issue 12 already lists (see KNOWN_BUG_LABELS).
  skip: args.includes('--skip-known') ? KNOWN_BUG_LABELS : undefined,
  stallMs: Number(opt('stall-ms', '2000')),
  log: (line) => console.log(line),
});
console.log('');
console.log(report.table);
if (report.findings.length > 0) console.log(`\n${report.findings.length} findings written to ${findingsDir}/ (up to 20 files per class)`);
process.exit(report.findings.length > 0 ? 1 : 0);
