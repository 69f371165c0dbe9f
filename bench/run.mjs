#!/usr/bin/env node
// Portico benchmark: an nginx origin and a WebSocket echo origin, then nginx / Caddy / Portico /
// http-proxy in front of them, each one process on one core, measured scenario by scenario: wrk
// for HTTP, bench/lib/ws-load.mjs for WebSocket messages, idle connections held by
// bench/lib/hold.mjs for memory per connection. See docs/benchmarks.md.
//   BENCH_DURATION=5   seconds per measured run (default 5; "10s" also accepted)
//   BENCH_WARMUP=1     seconds of warmup before each measured run
//   BENCH_ONLY=a,c     scenarios to run (default all: a,b,c,d,e4k,e1m,h,h2,z1,z6,k1,k2,k3,g,m1,m2)
//   BENCH_PROXIES=portico,nginx   proxies to run (default nginx,caddy,portico,portico-2w,http-proxy)
//   BENCH_PORTICO_BEFORE=/tmp/before   another Portico checkout (dist/ built) as the proxy "portico-before"
//   BENCH_ROUNDS=3     measure each HTTP scenario this many times per proxy, the proxies' order
//                      reversed every other round; the table gets a row per round and medians
//   BENCH_M1_CONNS=10000, BENCH_M2_CONNS=9000   connections held in (m1) / (m2)
//   BENCH_KEEP_TMP=1   keep the temp directory (configs, logs) for inspection
//   BENCH_SCRAPE_MS=100   while a Portico is measured, GET /metrics from its admin socket this often
//   (proxy portico-nometrics: Portico with PORTICO_METRICS=off, to measure what metrics cost)
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { freePort, waitReady, stop, stopAll, cpuSeconds, sampleRss } from './lib/proc.mjs';
import { startOrigin, startWsOrigin, proxies, writeStaticFiles, writeTlsFiles, fdHardLimit } from './lib/servers.mjs';
import { runWrk } from './lib/wrk.mjs';
import { runH2load } from './lib/h2load.mjs';
import { runWsLoad } from './lib/ws-load.mjs';
import { measureConnections, killHolders } from './lib/conns.mjs';
import { table, h2Table, wsTable, memTable, machineInfo } from './lib/report.mjs';
import { startCountOrigin, prefill, burst, lockTable } from './lib/cache-bench.mjs';
import { loadavg } from 'node:os';

const here = fileURLToPath(new URL('.', import.meta.url));
const seconds = (v, d) => {
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(String(v ?? '').trim());
  return m ? Math.max(1, Math.round(Number(m[1]) * (m[2] === 'm' ? 60 : 1))) : d;
};
const duration = seconds(process.env.BENCH_DURATION, 5);
const rounds = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS) || 1));
const warmup = seconds(process.env.BENCH_WARMUP, 1);
const list = (v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : null);

const upload = join(here, 'upload.lua');
const cacheKeys = join(here, 'cache-keys.lua');
const allScenarios = [
  { id: 'a', title: 'GET /1k, 64 connections, 1 thread', path: '/1k', t: 1, c: 64 },
  { id: 'b', title: 'GET /1k, 1000 connections, 2 threads', path: '/1k', t: 2, c: 1000 },
  { id: 'c', title: 'GET /1m, 64 connections, 1 thread', path: '/1m', t: 1, c: 64 },
  {
    id: 'd',
    title: 'POST 1 MiB to /upload, 64 connections, 1 thread',
    path: '/upload',
    t: 1,
    c: 64,
    script: upload,
    note: 'MiB/s counts response bytes only (wrk reads); request bodies moved = req/s x 1 MiB.',
  },
  { id: 'e4k', title: 'static file 4 KiB from disk, 64 connections, 1 thread', path: '/static/4k.bin', t: 1, c: 64, files: true },
  { id: 'e1m', title: 'static file 1 MiB from disk, 64 connections, 1 thread', path: '/static/1m.bin', t: 1, c: 64, files: true },
  // wrk speaks HTTP/1.1 over TLS (1.3 here) with keep-alive: this measures record encryption
  // on the proxy path, not handshakes.
  { id: 'h', title: 'HTTPS GET /1k (TLS 1.3, HTTP/1.1 keep-alive), 64 connections, 1 thread', path: '/1k', t: 1, c: 64, tls: true },
  // HTTP/2 (issue 19): h2load over TLS (ALPN h2), 64 connections with 10 streams each; the
  // same certificate as (h).
  { id: 'h2', kind: 'h2', title: 'HTTP/2 GET /1k over TLS, 64 connections x 10 concurrent streams (h2load)', path: '/1k', c: 64, m: 10, tls: true },
  // Compression (issue 14): a 100 KiB JSON answer proxied and gzipped, at nginx's default level
  // (1) and at 6; the note under the table gives each proxy's compressed size.
  ...[1, 6].map((level) => ({
    id: `z${level}`,
    title: `GET 100 KiB JSON proxied, gzip level ${level} (Accept-Encoding: gzip), 64 connections, 1 thread`,
    path: `/gz${level}/100k.json`,
    t: 1,
    c: 64,
    headers: ['Accept-Encoding: gzip'],
    compress: true,
  })),
  // The response cache (issue 15), the same proxy_cache config in nginx and Portico (Caddy has
  // none): (k1) one cached 1 KiB response, (k2) 4 KiB responses under 10,000 keys chosen at
  // random per request, every key stored before measuring (prefill), so both are all hits;
  // (k3) 100 concurrent requests for a key not stored yet, lock on: the origin requests counted.
  { id: 'k1', title: 'cached 1 KiB proxied GET (all hits), 64 connections, 1 thread', path: '/cache/1k', t: 1, c: 64, cache: true, prefill: ['/cache/1k'] },
  {
    id: 'k2',
    title: 'cached 4 KiB hits, 10,000 keys chosen at random per request (bench/cache-keys.lua), 64 connections, 1 thread',
    path: '/cache/k4/0',
    t: 1,
    c: 64,
    script: cacheKeys,
    cache: true,
    prefill: Array.from({ length: 10_000 }, (_, i) => `/cache/k4/${i}`),
  },
  { id: 'k3', kind: 'lock', title: '100 concurrent requests for one key not yet cached, proxy_cache_lock on: requests that reached the origin', n: 100, cache: true },
  {
    id: 'g',
    kind: 'ws',
    title: 'WebSocket echo, 64 connections, 64-byte text messages, one in flight per connection',
    path: '/ws/echo',
    c: 64,
    size: 64,
  },
  {
    id: 'm1',
    kind: 'mem',
    mode: 'http',
    path: '/1k',
    n: Number(process.env.BENCH_M1_CONNS) || 10_000,
    procs: 4,
  },
  {
    id: 'm2',
    kind: 'mem',
    mode: 'ws',
    path: '/ws/hold',
    n: Number(process.env.BENCH_M2_CONNS) || 9_000,
    procs: 4,
  },
];
for (const s of allScenarios.filter((x) => x.kind === 'mem')) {
  s.title =
    s.mode === 'http'
      ? `memory per connection: ${s.n.toLocaleString('en-US')} idle keep-alive connections (one GET ${s.path} each)`
      : `memory per connection: ${s.n.toLocaleString('en-US')} idle WebSocket tunnels`;
  s.note =
    `Each proxy restarted just before, then 256 connections opened and closed once; ${s.procs} holder processes (bench/lib/hold.mjs), at most 64 attempts in flight each. ` +
    `RSS of the proxy process(es) at rest (just restarted, settled, nothing served but the readiness probe), before opening (after the 256) and once settled with all open; KiB per connection = (held - before) / held. ` +
    `fds: the proxy's open file descriptors (hard limit ${fdHardLimit} per process).`;
}
const only = list(process.env.BENCH_ONLY);
const scenarios = allScenarios.filter((s) => !only || only.includes(s.id));
const names = list(process.env.BENCH_PROXIES) ?? Object.keys(proxies);
const unknown = [...(only ?? []).filter((s) => !allScenarios.some((x) => x.id === s)), ...names.filter((n) => !proxies[n])];
if (unknown.length || scenarios.length === 0) {
  console.error(`unknown scenario/proxy: ${unknown.join(', ') || '(none selected)'}; scenarios ${allScenarios.map((s) => s.id).join(',')}; proxies ${Object.keys(proxies).join(',')}`);
  process.exit(2);
}

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tail = (file, n = 20) => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
};

const tmp = mkdtempSync(join(tmpdir(), 'portico-bench-'));
chmodSync(tmp, 0o755); // nginx workers run as an unprivileged user when started as root
let currentWrk = null;
let cleaning = null;
let stopCountOrigin = null;
function cleanup() {
  cleaning ??= (async () => {
    currentWrk?.kill('SIGKILL');
    killHolders();
    await stopCountOrigin?.();
    await stopAll();
    if (process.env.BENCH_KEEP_TMP) log(`temp directory kept: ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping everything`);
    cleanup().finally(() => process.exit(130));
  });
}
// Hard bound: whatever happens, stop after the planned time plus a margin. A memory scenario
// is bounded per proxy by the holders' deadlines (opening 90 s, settling 15 s, closing 15 s).
const planned =
  scenarios.reduce((sum, s) => sum + (s.kind === 'mem' ? 150 : s.kind === 'ws' ? duration + warmup + 10 : s.kind === 'lock' ? 15 * rounds : (duration + warmup + 3) * rounds + (s.prefill ? 60 : 0)), 0) * names.length +
  (scenarios.some((s) => s.kind === 'ws') ? duration + warmup + 10 : 0) +
  60;
const watchdog = setTimeout(() => {
  log(`still running after ${planned} s: giving up`);
  cleanup().finally(() => process.exit(1));
}, planned * 1000);
watchdog.unref();

/**
 * BENCH_SCRAPE_MS: GET /metrics from a Portico's admin socket every that many ms while it is
 * measured (one scrape at a time; the next waits for the interval). stop() says how it went.
 */
function scrapeMetrics(socketPath) {
  const every = Number(process.env.BENCH_SCRAPE_MS) || 0;
  if (every <= 0) return null;
  let done = 0;
  let failed = 0;
  let bytes = 0;
  let stopped = false;
  const once = () => {
    if (stopped) return;
    const started = Date.now();
    const req = request({ socketPath, path: '/metrics', agent: false }, (res) => {
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => {
        if (res.statusCode === 200) done++;
        else failed++;
        setTimeout(once, Math.max(0, every - (Date.now() - started)));
      });
    });
    req.on('error', () => {
      failed++;
      setTimeout(once, every);
    });
    req.end();
  };
  once();
  return {
    stop() {
      stopped = true;
      return `scraped /metrics ${done} times (every ${every} ms; ${failed} failed; ${Math.round(bytes / Math.max(1, done))} bytes each)`;
    },
  };
}

/** POST 1 MiB to the origin directly: /upload must answer 200 after reading the body. */
function checkUpload(port) {
  return new Promise((resolve, reject) => {
    const body = Buffer.alloc(1024 * 1024, 'x');
    const req = request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false, headers: { 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`origin POST /upload: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const machine = machineInfo();
  log(`temp dir ${tmp}; ${duration}s per run after ${warmup}s warmup; scenarios ${scenarios.map((s) => s.id)}; proxies ${names}`);
  writeStaticFiles(tmp);
  const originPort = await freePort();
  const origin = startOrigin(tmp, originPort);
  try {
    await waitReady(origin, `http://127.0.0.1:${originPort}/1k`);
    await checkUpload(originPort);
  } catch (err) {
    throw new Error(`origin failed: ${err.message}\n${tail(origin.logFile)}`);
  }
  log(`origin nginx on 127.0.0.1:${originPort}`);
  const wsPort = await freePort();
  const wsOrigin = startWsOrigin(tmp, wsPort);
  try {
    await waitReady(wsOrigin, `http://127.0.0.1:${wsPort}/`);
  } catch (err) {
    throw new Error(`WebSocket origin failed: ${err.message}\n${tail(wsOrigin.logFile)}`);
  }
  log(`WebSocket echo origin (node) on 127.0.0.1:${wsPort}`);
  const origins = { http: originPort, ws: wsPort };
  // (k3) the counting origin, in this process.
  let countOrigin = null;
  if (scenarios.some((s) => s.kind === 'lock')) {
    countOrigin = await startCountOrigin(await freePort());
    stopCountOrigin = countOrigin.close;
    origins.count = countOrigin.port;
    log(`counting origin (node, in the runner) on 127.0.0.1:${countOrigin.port}`);
  }
  const tlsFiles = scenarios.some((s) => s.tls) ? writeTlsFiles(tmp) : undefined;

  const running = [];
  const failed = new Map();
  for (const name of names) {
    const port = await freePort();
    const tls = tlsFiles && proxies[name].tls !== false ? { ...tlsFiles, port: await freePort() } : undefined;
    const h = proxies[name].start(tmp, port, origins, tls);
    try {
      await waitReady(h, `http://127.0.0.1:${port}/1k`);
      running.push({ name, h, port, tlsPort: tls?.port, pid: proxies[name].pid(h) });
      log(`${name} on 127.0.0.1:${port} (measured pid ${[].concat(running.at(-1).pid).join('+')})`);
    } catch (err) {
      failed.set(name, 'did not start');
      log(`${name} FAILED to start: ${err.message}\n--- ${name} output ---\n${tail(h.logFile, 40)}\n---`);
      await stop(h);
    }
  }

  const sections = [];
  for (const s of scenarios) {
    if (s.kind === 'ws') await wsBaseline(s, wsPort, wsOrigin);
    if (cleaning) return;
    const rows = [];
    // HTTP scenarios may be measured in rounds, alternating the order (a shared machine's load drifts).
    const order = s.kind === undefined || s.kind === 'lock' || s.kind === 'h2' ? Array.from({ length: rounds }, (_, r) => (r % 2 === 0 ? names : [...names].reverse()).map((name) => [name, r + 1])).flat() : names.map((name) => [name, 0]);
    for (const [name, round] of order) {
      const p = running.find((r) => r.name === name);
      if (s.files && proxies[name].files === false) continue; // serves no files itself
      if (s.tls && proxies[name].tls === false) continue; // no HTTPS set up for it
      if (s.compress && proxies[name].compress === false) continue; // does not compress
      if (s.cache && proxies[name].cache === false) continue; // has no response cache
      if (!p || p.h.exited) {
        if (p?.h.exited && !failed.has(name)) failed.set(name, `exited ${JSON.stringify(p.h.exited)}`);
        rows.push({ proxy: name, failed: failed.get(name) ?? 'not running' });
        continue;
      }
      if (s.kind === 'ws') {
        rows.push(await wsRun(s, name, p, wsOrigin));
        if (cleaning) return;
        continue;
      }
      if (s.kind === 'mem') {
        rows.push(await memRun(s, name, p, origins));
        if (cleaning) return;
        continue;
      }
      if (s.kind === 'lock') {
        rows.push(await lockRun(s, name, p, round, countOrigin));
        continue;
      }
      if (s.kind === 'h2') {
        rows.push(await h2Run(s, name, p, rounds > 1 ? round : undefined));
        if (cleaning) return;
        continue;
      }
      const opts = { url: s.tls ? `https://127.0.0.1:${p.tlsPort}${s.path}` : `http://127.0.0.1:${p.port}${s.path}`, threads: s.t, connections: s.c, script: s.script, headers: s.headers };
      if (s.compress && round <= 1) (s.sizes ??= {})[name] = await compressedSize(opts.url);
      if (s.prefill && round <= 1) await prefillRun(s, name, p);
      const load = loadavg()[0];
      log(`(${s.id}) ${name}: warmup ${warmup}s`);
      await runWrk({ ...opts, duration: `${warmup}s` }, (c) => (currentWrk = c));
      if (cleaning) return;
      await sleep(300);
      log(`(${s.id}) ${name}: measuring ${duration}s`);
      const cpu0 = cpuSeconds(p.pid);
      const rss = sampleRss(p.pid);
      const scraper = name.startsWith('portico') ? scrapeMetrics(join(tmp, name, 'admin.sock')) : null;
      const run = await runWrk({ ...opts, duration: `${duration}s` }, (c) => (currentWrk = c));
      if (scraper) log(`(${s.id}) ${name}: ${scraper.stop()}`);
      if (cleaning) return; // interrupted: the signal handler is stopping everything
      const cpu = cpuSeconds(p.pid) - cpu0;
      const rssKiB = rss();
      currentWrk = null;
      s.wrk ??= `wrk ${run.args.join(' ').replace(/(https?):\/\/127\.0\.0\.1:\d+/, '$1://127.0.0.1:PORT').replace(upload, 'bench/upload.lua').replace(cacheKeys, 'bench/cache-keys.lua')}`;
      if (!run.parsed) {
        log(`(${s.id}) ${name}: wrk gave no result (exit ${run.code})\n${run.out}${run.err}`);
        rows.push({ proxy: name, failed: `wrk exit ${run.code}` });
      } else {
        const r = run.parsed;
        log(`(${s.id}) ${name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(2)} ms, cpu ${cpu.toFixed(2)} s, rss ${(rssKiB / 1024).toFixed(1)} MiB`);
        rows.push({ proxy: name, result: r, cpuSeconds: cpu, rssKiB, ...(rounds > 1 ? { round, load } : {}) });
      }
      if (p.h.exited) {
        failed.set(name, `crashed during (${s.id})`);
        log(`${name} EXITED during (${s.id}): ${JSON.stringify(p.h.exited)}\n${tail(p.h.logFile, 40)}`);
      }
      await sleep(500);
    }
    if (s.sizes) s.note = sizeNote(s.sizes);
    if (s.prefilled) s.note = `Before measuring, each proxy was asked for every key once (${s.prefill.length.toLocaleString('en-US')}; 16 at a time); then ${Object.entries(s.prefilled).map(([n, r]) => `${n}: ${r}`).join('; ')}.`;
    const md = s.kind === 'ws' ? wsTable(s, rows) : s.kind === 'mem' ? memTable(s, rows) : s.kind === 'lock' ? lockTable(s, rows) : s.kind === 'h2' ? h2Table(s, rows) : table(s, rows);
    sections.push(md);
    process.stdout.write(`\n${md}\n`);
  }

  // Anything the proxies wrote at error level is worth seeing next to the numbers.
  const notes = [];
  for (const p of running) {
    // Start-up lines are not news (Caddy prints its config line on every start, even at level ERROR).
    const lines = tail(p.h.logFile, 1e6)
      .split('\n')
      .filter((l) => l && !l.startsWith('portico: serving') && !l.includes('"msg":"using provided configuration"'));
    if (lines.length)
      notes.push(`- ${p.name} wrote ${lines.length} log line(s); the last ones:\n\n\`\`\`\n${lines.slice(-5).join('\n')}\n\`\`\``);
  }
  for (const [name, why] of failed) notes.push(`- ${name}: ${why}`);
  if (notes.length) process.stdout.write(`\nNotes:\n${notes.join('\n')}\n`);

  const resultsDir = join(here, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, 'latest.md');
  const doc = [
    '# Portico benchmark: latest run',
    '',
    machine,
    `- ${duration}s per measured run after a ${warmup}s warmup; one worker/process per proxy (portico-2w: two workers); origins: nginx, 1 worker, and bench/ws-origin.mjs (one Node process) for /ws/`,
    '',
    ...sections.flatMap((x) => [x, '']),
    ...(notes.length ? ['## Notes', '', ...notes, ''] : []),
  ].join('\n');
  writeFileSync(file, doc);
  process.stdout.write(`\nwrote ${relative(process.cwd(), file) || file}\n`);
}

/** The body of one GET with Accept-Encoding: gzip, in bytes as sent (and its Content-Encoding). */
function compressedSize(url) {
  return new Promise((resolve) => {
    const req = request(url, { headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => resolve({ bytes, encoding: res.headers['content-encoding'] ?? 'none' }));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** (k1, k2) Every key stored before measuring; a sample asked again says HIT. */
async function prefillRun(s, name, p) {
  log(`(${s.id}) ${name}: storing ${s.prefill.length} keys`);
  const r = await prefill(p.port, s.prefill);
  if (r.failed.length) log(`(${s.id}) ${name}: ${r.failed.length} prefill requests failed, e.g. ${r.failed.slice(0, 3).join('; ')}`);
  (s.prefilled ??= {})[name] = `${r.failed.length ? `${r.failed.length} failed, ` : ''}a sample of 5 keys asked again said ${[...new Set(r.sample)].join('/')}`;
}

/** (k3) One burst on a key no proxy has seen (a new one per proxy and round); the origin counts. */
async function lockRun(s, name, p, round, countOrigin) {
  const key = `k3-${name}-${round}-${Date.now()}`;
  log(`(${s.id}) ${name}: ${s.n} concurrent requests for /lock/${key}`);
  const r = await burst(p.port, `/lock/${key}`, s.n);
  await sleep(300); // a request the proxy sent late still counts
  const upstream = countOrigin.count(`/${key}`);
  log(`(${s.id}) ${name}: ${upstream} upstream request(s); ${r.ok} complete 200s; ${r.statuses}; cache ${r.cache}; ${Math.round(r.ms)} ms`);
  return { proxy: name, round, result: { ...r, upstream } };
}

/** (z1, z6) Each proxy's compressed body, against nginx's. */
function sizeNote(sizes) {
  const base = sizes.nginx?.bytes;
  const parts = Object.entries(sizes).map(([name, r]) => {
    if (!r) return `${name}: no answer`;
    const vs = base && name !== 'nginx' ? ` (${r.bytes >= base ? '+' : ''}${(((r.bytes - base) / base) * 100).toFixed(1)}% vs nginx)` : '';
    return `${name} ${r.bytes.toLocaleString('en-US')} bytes${r.encoding === 'gzip' ? '' : ` (Content-Encoding: ${r.encoding})`}${vs}`;
  });
  return `Compressed body of the 100 KiB JSON: ${parts.join('; ')}.`;
}

/**
 * (h2) for one proxy: h2load opens its connections and runs its own warm-up phase (not
 * counted), then the measured phase; the proxy's CPU is read from the end of the warm-up on.
 */
async function h2Run(s, name, p, round) {
  const opts = { url: `https://127.0.0.1:${p.tlsPort}${s.path}`, clients: s.c, streams: s.m, duration, warmup };
  const load = loadavg()[0];
  log(`(${s.id}) ${name}: ${warmup}s warm-up, measuring ${duration}s`);
  const rss = sampleRss(p.pid);
  const running = runH2load(opts, (c) => (currentWrk = c));
  await sleep(warmup * 1000 + 100);
  const cpu0 = cpuSeconds(p.pid);
  const run = await running;
  if (cleaning) return null;
  const cpu = cpuSeconds(p.pid) - cpu0;
  const rssKiB = rss();
  currentWrk = null;
  s.cmd ??= `h2load ${run.args.join(' ').replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT')}`;
  let row;
  if (!run.parsed) {
    log(`(${s.id}) ${name}: h2load gave no result (exit ${run.code})\n${run.out.slice(-2000)}${run.err}`);
    row = { proxy: name, failed: `h2load exit ${run.code}` };
  } else {
    const r = run.parsed;
    log(`(${s.id}) ${name}: ${r.rps.toFixed(0)} req/s, mean ${r.mean.toFixed(2)} ms, ${r.protocol} ${r.cipher}, failed ${r.failed}, cpu ${cpu.toFixed(2)} s, rss ${(rssKiB / 1024).toFixed(1)} MiB`);
    row = { proxy: name, result: r, cpuSeconds: cpu, rssKiB, ...(round !== undefined ? { round, load } : {}) };
  }
  if (p.h.exited) log(`${name} EXITED during (${s.id}): ${JSON.stringify(p.h.exited)}\n${tail(p.h.logFile, 40)}`);
  await sleep(500);
  return row;
}

/** (g) for one proxy: a warmup run, then a measured run with the proxy's CPU time and peak RSS. */
async function wsRun(s, name, p, wsOrigin) {
  const opts = { url: `ws://127.0.0.1:${p.port}${s.path}`, connections: s.c, size: s.size };
  log(`(${s.id}) ${name}: warmup ${warmup}s`);
  await runWsLoad({ ...opts, duration: warmup }, (c) => (currentWrk = c));
  if (cleaning) return null;
  await sleep(300);
  log(`(${s.id}) ${name}: measuring ${duration}s`);
  const cpu0 = cpuSeconds(p.pid);
  const originCpu0 = cpuSeconds(wsOrigin.pid);
  const rss = sampleRss(p.pid);
  const run = await runWsLoad({ ...opts, duration }, (c) => (currentWrk = c));
  const cpu = cpuSeconds(p.pid) - cpu0;
  const originCpu = cpuSeconds(wsOrigin.pid) - originCpu0;
  const rssKiB = rss();
  currentWrk = null;
  s.cmd ??= `node bench/lib/ws-load.mjs ${run.args.join(' ').replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT')}`;
  let row;
  if (!run.parsed) {
    log(`(${s.id}) ${name}: ws-load gave no result (exit ${run.code})\n${run.out}${run.err}`);
    row = { proxy: name, failed: `ws-load exit ${run.code}` };
  } else {
    const r = run.parsed;
    log(
      `(${s.id}) ${name}: ${r.rate.toFixed(0)} msg/s, p99 ${r.p99.toFixed(2)} ms, errors ${JSON.stringify(r.errors)}; ` +
        `cpu: proxy ${cpu.toFixed(2)} s, origin ${originCpu.toFixed(2)} s, client ${r.cpuSeconds.toFixed(2)} s; rss ${(rssKiB / 1024).toFixed(1)} MiB`,
    );
    row = { proxy: name, result: r, cpuSeconds: cpu, rssKiB };
  }
  if (p.h.exited) log(`${name} EXITED during (${s.id}): ${JSON.stringify(p.h.exited)}\n${tail(p.h.logFile, 40)}`);
  await sleep(500);
  return row;
}

/** (g) without a proxy: the client straight to the origin, the ceiling of this machine's client + origin. */
async function wsBaseline(s, wsPort, wsOrigin) {
  const opts = { url: `ws://127.0.0.1:${wsPort}${s.path}`, connections: s.c, size: s.size };
  log(`(${s.id}) no proxy: warmup ${warmup}s, measuring ${duration}s`);
  await runWsLoad({ ...opts, duration: warmup }, (c) => (currentWrk = c));
  if (cleaning) return;
  const originCpu0 = cpuSeconds(wsOrigin.pid);
  const run = await runWsLoad({ ...opts, duration }, (c) => (currentWrk = c));
  const originCpu = cpuSeconds(wsOrigin.pid) - originCpu0;
  currentWrk = null;
  const r = run.parsed;
  if (!r) {
    s.note = `Without a proxy the client gave no result (exit ${run.code}).`;
    return;
  }
  const e = Object.entries(r.errors).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ') || 'no errors';
  s.note =
    `Without a proxy (the client straight to the origin): ${Math.round(r.rate).toLocaleString('en-US')} messages/s, ` +
    `p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${e}; the origin used ${originCpu.toFixed(2)} CPU-s and the client ${r.cpuSeconds.toFixed(2)} CPU-s in ${duration} s.`;
  log(`(${s.id}) no proxy: ${s.note}`);
  await sleep(500);
}

/**
 * (m1)/(m2) for one proxy, restarted first so that its memory does not depend on the scenarios
 * before (a process that grew earlier reuses freed memory for new connections).
 */
async function memRun(s, name, p, origins) {
  await stop(p.h, p.h.stopSignal ?? 'SIGTERM');
  p.port = await freePort();
  p.h = proxies[name].start(tmp, p.port, origins);
  try {
    await waitReady(p.h, `http://127.0.0.1:${p.port}/1k`);
    p.pid = proxies[name].pid(p.h);
  } catch (err) {
    log(`(${s.id}) ${name}: restart FAILED: ${err.message}\n${tail(p.h.logFile, 40)}`);
    return { proxy: name, failed: 'did not restart' };
  }
  log(`(${s.id}) ${name}: restarted on 127.0.0.1:${p.port} (pid ${[].concat(p.pid).join('+')}); holding ${s.n} ${s.mode === 'ws' ? 'WebSocket tunnels' : 'keep-alive connections'}`);
  let r;
  try {
    r = await measureConnections({
      warm: 256,
      mode: s.mode,
      port: p.port,
      path: s.path,
      n: s.n,
      procs: s.procs,
      pid: p.pid,
      log: (m) => log(`(${s.id}) ${name}: ${m}`),
    });
  } catch (err) {
    log(`(${s.id}) ${name}: failed: ${err.stack ?? err}`);
    return { proxy: name, failed: err.message };
  }
  if (cleaning) return null;
  log(
    `(${s.id}) ${name}: held ${r.held}/${r.n}; rss at rest ${(r.rssRest / 1024).toFixed(1)} MiB, ${(r.rssBefore / 1024).toFixed(1)} -> ${(r.rssHeld / 1024).toFixed(1)} MiB` +
      `${r.rssStable ? '' : ' (not settled)'} = ${r.perConnKiB.toFixed(1)} KiB per connection; after closing ${(r.rssAfterClose / 1024).toFixed(1)} MiB; ` +
      `fds ${r.fdsBefore} -> ${r.fdsHeld} -> ${r.fdsAfter}${r.closeLeft ? `; ${r.closeLeft} connections still open 5 s after the client ended them` : ''}; errors ${JSON.stringify(r.errors)}`,
  );
  if (p.h.exited) {
    log(`${name} EXITED during (${s.id}): ${JSON.stringify(p.h.exited)}\n${tail(p.h.logFile, 40)}`);
    r.errors['proxy exited'] = 1;
  }
  await sleep(1000);
  return { proxy: name, result: r };
}

try {
  await main();
} catch (err) {
  log(`error: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
