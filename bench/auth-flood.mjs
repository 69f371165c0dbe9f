#!/usr/bin/env node
// A flood of wrong basic_auth passwords against `portico run`, and the latency of a plain route
// of the same server meanwhile (issue 12 item 7). Bounded: RATE requests/s of each kind for
// SECONDS seconds, each on a new connection, to 127.0.0.1 only; then Portico is stopped.
//   node bench/auth-flood.mjs [--rate 20] [--seconds 5] [--cost 10] [--max-failures N] [--threads N] [--portico DIR] [--no-flood]
// --no-flood sends the plain requests alone (the baseline).
// --max-failures 0 turns the per-address limit off (the verifier threads alone); omitted, the
// config says nothing about password_checks (the defaults; also what a build without it reads).
// --portico DIR runs another build (a checkout with dist/ built), for before/after figures.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '5' },
    cost: { type: 'string', default: '10' },
    'max-failures': { type: 'string' },
    threads: { type: 'string' },
    portico: { type: 'string' },
    'no-flood': { type: 'boolean', default: false },
  },
});
const rate = Math.min(Number(values.rate), 200);
const seconds = Math.min(Number(values.seconds), 30);
const root = resolve(values.portico ?? fileURLToPath(new URL('..', import.meta.url)));
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'portico-auth-flood-'));
const hash = bcrypt.hashSync('right password', Number(values.cost));
const checks = [];
if (values['max-failures'] !== undefined) checks.push(`max_failures: ${Number(values['max-failures'])}`);
if (values.threads !== undefined) checks.push(`threads: ${Number(values.threads)}`);
writeFileSync(
  join(dir, 'portico.yaml'),
  `access_log: false\nlog_level: error\n${checks.length ? `password_checks: { ${checks.join(', ')} }\n` : ''}` +
    `servers:\n  - listen: ["127.0.0.1:${port}"]\n    routes:\n` +
    `      - { path: /private/, respond: { body: "secret" }, basic_auth: { users: { alice: "${hash}" } } }\n` +
    `      - { path: /, respond: { body: "plain" } }\n`,
);
const portico = spawn(process.execPath, [cli, 'run', '-c', join(dir, 'portico.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
portico.stderr.on('data', (c) => (stderr += c));
const cleanup = () => {
  portico.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};

function get(path, headers = {}) {
  const started = performance.now();
  return new Promise((res) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (r) => {
      r.resume();
      r.on('end', () => res({ status: r.statusCode, ms: performance.now() - started }));
    });
    req.on('error', (err) => res({ status: err.code ?? 'error', ms: performance.now() - started }));
    req.setTimeout(30_000, () => req.destroy());
    req.end();
  });
}

// Ready: the plain route answers.
for (let i = 0; ; i++) {
  if ((await get('/')).status === 200) break;
  if (i > 200) {
    cleanup();
    throw new Error(`portico did not start:\n${stderr}`);
  }
  await new Promise((r) => setTimeout(r, 50));
}
for (let i = 0; i < 20; i++) await get('/'); // warm

const plain = [];
const auth = [];
const total = rate * seconds;
for (let i = 0; i < total; i++) {
  const basic = 'Basic ' + Buffer.from(`alice:wrong ${i}`).toString('base64');
  if (!values['no-flood']) auth.push(get('/private/x', { Authorization: basic }));
  plain.push(get('/'));
  await new Promise((r) => setTimeout(r, 1000 / rate));
}
const plainResults = await Promise.all(plain);
const authResults = await Promise.all(auth);
const login = await get('/private/x', { Authorization: 'Basic ' + Buffer.from('alice:right password').toString('base64') });
cleanup();

const ms = plainResults.map((r) => r.ms).sort((a, b) => a - b);
const pct = (p) => ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)].toFixed(1);
const count = (list) => Object.entries(list.reduce((m, r) => ((m[r.status] = (m[r.status] ?? 0) + 1), m), {})).map(([k, v]) => `${k}: ${v}`).join(', ');
console.log(`portico at ${root}; ${values['no-flood'] ? 0 : rate} wrong passwords/s and ${rate} plain requests/s for ${seconds}s, bcrypt cost ${values.cost}` + (checks.length ? `, password_checks { ${checks.join(', ')} }` : ''));
console.log(`plain route: p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${ms[ms.length - 1].toFixed(1)} ms; statuses ${count(plainResults)}`);
console.log(`wrong passwords: ${count(authResults)}`);
console.log(`right password afterwards (same address): ${login.status}`);
