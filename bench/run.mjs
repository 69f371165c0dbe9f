#!/usr/bin/env node
// Portico benchmark: nginx origin, then nginx / Caddy / Portico / http-proxy in front of it, each
// one process on one core, measured with wrk scenario by scenario. See docs/benchmarks.md.
//   BENCH_DURATION=5   seconds per measured run (default 5; "10s" also accepted)
//   BENCH_WARMUP=1     seconds of warmup before each measured run
//   BENCH_ONLY=a,c     scenarios to run (default all: a,b,c,d,e4k,e1m,h)
//   BENCH_PROXIES=portico,nginx   proxies to run (default nginx,caddy,portico,http-proxy)
//   BENCH_KEEP_TMP=1   keep the temp directory (configs, logs) for inspection
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { freePort, waitReady, stop, stopAll, cpuSeconds, sampleRss } from './lib/proc.mjs';
import { startOrigin, proxies, writeStaticFiles, writeTlsFiles } from './lib/servers.mjs';
import { runWrk } from './lib/wrk.mjs';
import { table, machineInfo } from './lib/report.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const seconds = (v, d) => {
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(String(v ?? '').trim());
  return m ? Math.max(1, Math.round(Number(m[1]) * (m[2] === 'm' ? 60 : 1))) : d;
};
const duration = seconds(process.env.BENCH_DURATION, 5);
const warmup = seconds(process.env.BENCH_WARMUP, 1);
const list = (v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : null);

const upload = join(here, 'upload.lua');
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
];
const only = list(process.env.BENCH_ONLY);
const scenarios = allScenarios.filter((s) => !only || only.includes(s.id));
const names = list(process.env.BENCH_PROXIES) ?? Object.keys(proxies);
const unknown = [...(only ?? []).filter((s) => !allScenarios.some((x) => x.id === s)), ...names.filter((n) => !proxies[n])];
if (unknown.length || scenarios.length === 0) {
  console.error(`unknown scenario/proxy: ${unknown.join(', ') || '(none selected)'}; scenarios a,b,c,d,e4k,e1m,h; proxies ${Object.keys(proxies).join(',')}`);
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
function cleanup() {
  cleaning ??= (async () => {
    currentWrk?.kill('SIGKILL');
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
// Hard bound: whatever happens, stop after the planned time plus a margin.
const planned = scenarios.length * names.length * (duration + warmup + 2) + 60;
const watchdog = setTimeout(() => {
  log(`still running after ${planned} s: giving up`);
  cleanup().finally(() => process.exit(1));
}, planned * 1000);
watchdog.unref();

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
  const tlsFiles = scenarios.some((s) => s.tls) ? writeTlsFiles(tmp) : undefined;
  const originPort = await freePort();
  const origin = startOrigin(tmp, originPort);
  try {
    await waitReady(origin, `http://127.0.0.1:${originPort}/1k`);
    await checkUpload(originPort);
  } catch (err) {
    throw new Error(`origin failed: ${err.message}\n${tail(origin.logFile)}`);
  }
  log(`origin nginx on 127.0.0.1:${originPort}`);

  const running = [];
  const failed = new Map();
  for (const name of names) {
    const port = await freePort();
    const tls = tlsFiles && proxies[name].tls !== false ? { ...tlsFiles, port: await freePort() } : undefined;
    const h = proxies[name].start(tmp, port, originPort, tls);
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
    const rows = [];
    for (const name of names) {
      const p = running.find((r) => r.name === name);
      if (s.files && proxies[name].files === false) continue; // serves no files itself
      if (s.tls && proxies[name].tls === false) continue; // no HTTPS set up for it
      if (!p || p.h.exited) {
        if (p?.h.exited && !failed.has(name)) failed.set(name, `exited ${JSON.stringify(p.h.exited)}`);
        rows.push({ proxy: name, failed: failed.get(name) ?? 'not running' });
        continue;
      }
      const opts = { url: s.tls ? `https://127.0.0.1:${p.tlsPort}${s.path}` : `http://127.0.0.1:${p.port}${s.path}`, threads: s.t, connections: s.c, script: s.script };
      log(`(${s.id}) ${name}: warmup ${warmup}s`);
      await runWrk({ ...opts, duration: `${warmup}s` }, (c) => (currentWrk = c));
      if (cleaning) return;
      await sleep(300);
      log(`(${s.id}) ${name}: measuring ${duration}s`);
      const cpu0 = cpuSeconds(p.pid);
      const rss = sampleRss(p.pid);
      const run = await runWrk({ ...opts, duration: `${duration}s` }, (c) => (currentWrk = c));
      if (cleaning) return; // interrupted: the signal handler is stopping everything
      const cpu = cpuSeconds(p.pid) - cpu0;
      const rssKiB = rss();
      currentWrk = null;
      s.wrk ??= `wrk ${run.args.join(' ').replace(/(https?):\/\/127\.0\.0\.1:\d+/, '$1://127.0.0.1:PORT').replace(upload, 'bench/upload.lua')}`;
      if (!run.parsed) {
        log(`(${s.id}) ${name}: wrk gave no result (exit ${run.code})\n${run.out}${run.err}`);
        rows.push({ proxy: name, failed: `wrk exit ${run.code}` });
      } else {
        const r = run.parsed;
        log(`(${s.id}) ${name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(2)} ms, cpu ${cpu.toFixed(2)} s, rss ${(rssKiB / 1024).toFixed(1)} MiB`);
        rows.push({ proxy: name, result: r, cpuSeconds: cpu, rssKiB });
      }
      if (p.h.exited) {
        failed.set(name, `crashed during (${s.id})`);
        log(`${name} EXITED during (${s.id}): ${JSON.stringify(p.h.exited)}\n${tail(p.h.logFile, 40)}`);
      }
      await sleep(500);
    }
    const md = table(s, rows);
    sections.push(md);
    process.stdout.write(`\n${md}\n`);
  }

  // Anything the proxies wrote at error level is worth seeing next to the numbers.
  const notes = [];
  for (const p of running) {
    const lines = tail(p.h.logFile, 1e6).split('\n').filter((l) => l && !l.startsWith('portico: serving'));
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
    `- ${duration}s per measured run after a ${warmup}s warmup; one worker/process per proxy; origin: nginx, 1 worker`,
    '',
    ...sections.flatMap((x) => [x, '']),
    ...(notes.length ? ['## Notes', '', ...notes, ''] : []),
  ].join('\n');
  writeFileSync(file, doc);
  process.stdout.write(`\nwrote ${relative(process.cwd(), file) || file}\n`);
}

try {
  await main();
} catch (err) {
  log(`error: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
