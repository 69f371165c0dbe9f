#!/usr/bin/env node
// `npm run nginx-tests`: runs nginx's own test suite (../shared/nginx-tests, unmodified, Perl
// Test::Nginx) against Debian's nginx and against Portico (through ./nginx, a wrapper that plays
// the nginx binary for the harness), on the same files, and prints per file the assertions nginx
// passes, how many of those Portico passes, and Portico's share. Not part of `npm test`.
//
// Usage: node scripts/nginx-tests/run.mjs [-j N] [--timeout S] [--json FILE] [--only portico|nginx]
//                                         [--from FILE.json] [FILE.t|GLOB ...]
//   files default to the areas Portico covers (SELECTION below); --from reuses the nginx side of
//   an earlier --json run (nginx does not change between runs of Portico).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const here = new URL('.', import.meta.url).pathname;
const root = resolve(here, '../..');
const suite = resolve(process.env.NGINX_TESTS_DIR ?? join(root, '..', 'shared', 'nginx-tests'));
const NGINX = process.env.NGINX_BINARY ?? '/usr/sbin/nginx';
const MODULES = process.env.NGINX_MODULES ?? '/usr/lib/nginx/modules';

// The areas Portico covers (issue 18): HTTP core, proxying (the cache included, not HTTP/2 to
// upstreams or client certificates to upstreams), upstreams, limits, access, auth_basic,
// rewrite, map, ranges, conditional requests, compression, TLS and HTTP/2 toward clients.
const SELECTION = [
  /^http_.*\.t$/, /^merge_slashes\.t$/, /^index\.t$/, /^autoindex.*\.t$/, /^headers\.t$/, /^body.*\.t$/,
  /^ignore_invalid_headers\.t$/, /^server_tokens\.t$/, /^proxy.*\.t$/, /^upstream.*\.t$/, /^limit_.*\.t$/,
  /^access\.t$/, /^auth_basic\.t$/, /^rewrite.*\.t$/, /^map.*\.t$/, /^range.*\.t$/, /^not_modified\.t$/,
  /^ssl.*\.t$/, /^h2.*\.t$/, /^gzip.*\.t$/,
];
const EXCLUDED = [/^proxy_h2/, /^proxy_ssl_certificate/, /^h2_ssl_proxy_cache/];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    j: { type: 'string', short: 'j', default: '2' },
    timeout: { type: 'string', default: '300' },
    json: { type: 'string' },
    from: { type: 'string' },
    only: { type: 'string' },
  },
});

if (!existsSync(join(suite, 'lib', 'Test', 'Nginx.pm'))) {
  console.error(`nginx-tests: no suite at ${suite} (set NGINX_TESTS_DIR)`);
  process.exit(2);
}
if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
  console.error('nginx-tests: build first (npx tsc -p .)');
  process.exit(2);
}

const all = readdirSync(suite).filter((f) => f.endsWith('.t')).sort();
const files = positionals.length > 0
  ? all.filter((f) => positionals.some((p) => f === p || new RegExp(`^${p.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(f)))
  : all.filter((f) => SELECTION.some((re) => re.test(f)) && !EXCLUDED.some((re) => re.test(f)));

const previous = values.from ? JSON.parse(readFileSync(values.from, 'utf8')) : undefined;
const targets = { nginx: NGINX, portico: join(here, 'nginx') };
const wanted = values.only ? [values.only] : ['nginx', 'portico'];
const timeoutMs = Number(values.timeout) * 1000;
const scratch = mkdtempSync(join(tmpdir(), 'portico-nginx-tests-'));

/**
 * Started as root, nginx's workers run as `nobody`, who cannot enter the harness's test
 * directory (File::Temp makes it 0700): every file that writes there (a proxy_cache entry, a
 * temp file) would fail on nginx's side with "Permission denied" and its assertions would not
 * count. nginx then runs its workers as root (`user root;` in the main context, what the
 * harness's TEST_NGINX_GLOBALS adds). Portico serves as the user it was started as.
 */
function asRoot(target) {
  return target === 'nginx' && process.getuid?.() === 0 ? { TEST_NGINX_GLOBALS: `user root;${process.env.TEST_NGINX_GLOBALS ?? ''}` } : {};
}

/** Runs one file with one binary; resolves with its TAP results. */
function runFile(file, target) {
  return new Promise((done) => {
    const child = spawn('perl', [file], {
      cwd: suite,
      detached: true, // its own process group: a hung file is ended with everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TEST_NGINX_BINARY: targets[target], TEST_NGINX_MODULES: MODULES, TMPDIR: scratch, ...asRoot(target) },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      done({ ...parseTap(out), timedOut, stderr: err.slice(-2000) });
    });
  });
}

/** Plain passes by number and name; skipped and TODO assertions count as neither. */
function parseTap(text) {
  const passed = [];
  const failed = [];
  let plan;
  let skipAll;
  for (const line of text.split('\n')) {
    const p = /^1\.\.(\d+)(?:\s*#\s*skip\s*(.*))?/i.exec(line);
    if (p) {
      plan = Number(p[1]);
      if (p[2] !== undefined) skipAll = p[2];
      continue;
    }
    const m = /^(not )?ok (\d+)(?: - ([^#]*))?(#.*)?$/.exec(line);
    if (!m) continue;
    const directive = m[4] ?? '';
    if (/^#\s*(skip|todo)/i.test(directive)) continue;
    const id = `${m[2]} ${(m[3] ?? '').trim()}`;
    (m[1] ? failed : passed).push(id);
  }
  return { plan, skipAll, passed, failed };
}

const results = {};
const queue = [];
for (const file of files) {
  results[file] = {};
  for (const target of wanted) {
    if (target === 'nginx' && previous?.[file]?.nginx) results[file].nginx = previous[file].nginx;
    else queue.push([file, target]);
  }
}
if (values.only === 'portico' && previous) for (const file of files) results[file].nginx = previous[file]?.nginx;

let next = 0;
let finished = 0;
async function worker() {
  while (next < queue.length) {
    const [file, target] = queue[next++];
    results[file][target] = await runFile(file, target);
    finished++;
    process.stderr.write(`\r${finished}/${queue.length} ${file} (${target})`.padEnd(70));
  }
}
await Promise.all(Array.from({ length: Math.max(1, Number(values.j)) }, worker));
process.stderr.write('\n');
rmSync(scratch, { recursive: true, force: true });

// The table: assertions nginx passes, and how many of exactly those Portico passes.
const rows = [];
let nginxTotal = 0;
let porticoTotal = 0;
for (const file of files) {
  const r = results[file];
  const ng = new Set(r.nginx?.passed ?? []);
  const po = new Set(r.portico?.passed ?? []);
  const both = [...ng].filter((id) => po.has(id)).length;
  nginxTotal += ng.size;
  porticoTotal += both;
  const note = r.portico?.timedOut ? 'timed out' : r.portico?.skipAll !== undefined && ng.size > 0 ? `skipped: ${r.portico.skipAll}` : '';
  rows.push({ file, nginx: ng.size, portico: both, note });
}
const pct = (a, b) => (b === 0 ? '-' : `${Math.round((1000 * a) / b) / 10}%`);
const lines = ['| file | nginx 1.22 | Portico | share |', '|---|---:|---:|---:|'];
for (const r of rows) if (r.nginx > 0) lines.push(`| ${r.file} | ${r.nginx} | ${r.portico} | ${pct(r.portico, r.nginx)}${r.note ? ` (${r.note})` : ''} |`);
lines.push(`| **${rows.filter((r) => r.nginx > 0).length} files** | **${nginxTotal}** | **${porticoTotal}** | **${pct(porticoTotal, nginxTotal)}** |`);
console.log(lines.join('\n'));
const silent = rows.filter((r) => r.nginx === 0).map((r) => r.file);
if (silent.length > 0) console.log(`\n${silent.length} files where nginx 1.22 passes no assertion (skipped for its version or modules): ${silent.join(' ')}`);
if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 1));
