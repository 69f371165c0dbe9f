#!/usr/bin/env node
// Issue 12 item 8: HTTP/2 clients that never read. Portico (compiled, dist/) runs in a child
// process with an h2 TLS listener in front of a child upstream that answers /big with SIZE
// bytes and /small with 1 KiB. The attacker opens STREAMS streams per session on SESSIONS
// sessions with an initial window of 0 and never reads; meanwhile a prober makes one request
// at a time to /small over its own HTTP/2 session and records each latency. Reported: the
// prober's p50/p99/max, Portico's event-loop delay (perf_hooks.monitorEventLoopDelay) during
// the attack, the largest sum of temp-file sizes seen (sampled every 250 ms from /proc/self/fd
// in the Portico process, and every 5 ms from its temp-file accounting where the build has
// one), CPU seconds of each process, and whether every temp file is gone after the attacker
// leaves.
//   ATTACK_STREAMS=100 ATTACK_SESSIONS=1 ATTACK_SIZE_MB=20 ATTACK_SECONDS=6
//   ATTACK_TEMP_DIR=<dir>   where Portico's temp files go (default: a fresh dir under os.tmpdir())
//   ATTACK_GLOBAL=<bytes> ATTACK_PER_CONN=<bytes>   temp_files.max_total_size / max_connection_size
//   ATTACK_POOL=<n>         proxy.keepalive_connections (default 64)
// Usage: npx tsc -p . && node bench/h2-never-reading.mjs
import { fork } from 'node:child_process';
import { connect } from 'node:http2';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const env = (name, d) => Number(process.env[name] ?? d);
const role = process.argv[2];

if (role === 'upstream') {
  const size = env('ATTACK_SIZE_MB', 20) * 1024 * 1024;
  const piece = Buffer.alloc(64 * 1024, 'x');
  const small = Buffer.alloc(1024, 's');
  const server = createServer((req, res) => {
    if (req.url === '/small') return res.end(small);
    res.writeHead(200, { 'Content-Length': size });
    let left = size;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, piece.length);
        left -= n;
        if (!res.write(n === piece.length ? piece : piece.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  let cpu = process.cpuUsage();
  process.on('message', (m) => {
    if (m === 'start') cpu = process.cpuUsage();
    const d = process.cpuUsage(cpu);
    process.send({ cpuSeconds: Number(((d.user + d.system) / 1e6).toFixed(2)) });
  });
  process.on('disconnect', () => process.exit(0));
} else if (role === 'portico') {
  const { validateConfig } = await import('../dist/src/config/load.js');
  const { startServer } = await import('../dist/src/server/server.js');
  const { upstreamPort, dataDir, tempDir } = JSON.parse(process.argv[3]);
  const temp = {};
  if (tempDir) temp.dir = tempDir;
  if (process.env.ATTACK_GLOBAL) temp.max_total_size = Number(process.env.ATTACK_GLOBAL);
  if (process.env.ATTACK_PER_CONN) temp.max_connection_size = Number(process.env.ATTACK_PER_CONN);
  const proxy = { to: `127.0.0.1:${upstreamPort}` };
  if (process.env.ATTACK_POOL) proxy.keepalive_connections = Number(process.env.ATTACK_POOL);
  const input = {
    data_dir: dataDir,
    access_log: false,
    log_level: 'error',
    servers: [{ listen: ['127.0.0.1:0'], tls: 'internal', routes: [{ path: '/', proxy }] }],
  };
  // Older builds have no temp_files key: the same command measures before and after.
  if (Object.keys(temp).length > 0 && process.env.ATTACK_NO_TEMP_KEY !== '1') input.temp_files = temp;
  const server = await startServer(validateConfig(input, 'bench'));
  const eld = monitorEventLoopDelay({ resolution: 1 });
  let maxTemp = 0;
  let cpu = process.cpuUsage();
  const tempBytes = () => {
    let sum = 0;
    let files = 0;
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        if (!readlinkSync(`/proc/self/fd/${fd}`).includes(`portico-${process.pid}-`)) continue;
        sum += statSync(`/proc/self/fd/${fd}`).size;
        files++;
      } catch {}
    }
    return { sum, files };
  };
  // Reading /proc/self/fd costs the loop a few ms with a thousand descriptors open: the exact
  // accounting (server.spool, when this build has it) is read often, the disk seldom.
  setInterval(() => (maxTemp = Math.max(maxTemp, tempBytes().sum)), 250).unref();
  let maxReserved = 0;
  if (server.spool) setInterval(() => (maxReserved = Math.max(maxReserved, server.spool.reserved)), 5).unref();
  process.on('message', (m) => {
    if (m === 'start') {
      eld.reset();
      eld.enable();
      maxTemp = 0;
      maxReserved = 0;
      cpu = process.cpuUsage();
      process.send({ started: true });
    } else if (m === 'stop') {
      eld.disable();
      process.send({
        eld: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 },
        maxTemp,
        maxReserved: server.spool ? maxReserved : undefined,
        cpuSeconds: (() => {
          const d = process.cpuUsage(cpu);
          return Number(((d.user + d.system) / 1e6).toFixed(2));
        })(),
      });
    } else if (m === 'after') {
      process.send({ after: tempBytes() });
    }
  });
  process.on('disconnect', () => server.close().then(() => process.exit(0)));
  process.send({ port: server.addresses[0].port });
} else {
  const self = fileURLToPath(import.meta.url);
  const streams = env('ATTACK_STREAMS', 100);
  const sessions = env('ATTACK_SESSIONS', 1);
  const seconds = env('ATTACK_SECONDS', 6);
  const dataDir = mkdtempSync(join(tmpdir(), 'portico-attack-data-'));
  const tempDir = process.env.ATTACK_TEMP_DIR ?? (process.env.ATTACK_NO_TEMP_KEY === '1' ? undefined : mkdtempSync(join(tmpdir(), 'portico-attack-tmp-')));
  const children = [];
  const child = (args) => {
    const c = fork(self, args, { stdio: 'inherit' });
    children.push(c);
    return new Promise((resolve) => c.once('message', (m) => resolve([c, m])));
  };
  const ask = (c, msg) => new Promise((resolve) => (c.once('message', resolve), c.send(msg)));
  const delay = (ms) => new Promise((r) => setTimeout(r, ms));
  try {
    const [upstreamChild, up] = await child(['upstream']);
    const [portico, { port }] = await child(['portico', JSON.stringify({ upstreamPort: up.port, dataDir, tempDir })]);
    const url = `https://127.0.0.1:${port}`;
    const opts = { rejectUnauthorized: false, servername: 'localhost' };

    // Warm up the prober's session (TLS handshake, upstream connection).
    const probe = connect(url, opts);
    const get = (session, path) =>
      new Promise((resolve, reject) => {
        const s = session.request({ ':path': path, ':authority': 'localhost' });
        s.on('response', () => {});
        s.on('data', () => {});
        s.on('end', resolve);
        s.on('error', reject);
        s.end();
      });
    probe.on('error', (e) => console.error('prober session:', e.message));
    for (let i = 0; i < 20; i++) await get(probe, '/small');

    await ask(portico, 'start');
    await ask(upstreamChild, 'start');
    const parentCpu = process.cpuUsage();
    const attackers = [];
    for (let s = 0; s < sessions; s++) {
      const session = connect(url, { ...opts, settings: { initialWindowSize: 0 } });
      session.on('error', () => {});
      for (let i = 0; i < streams; i++) {
        const st = session.request({ ':path': `/big/${s}/${i}`, ':authority': 'localhost' });
        st.on('error', () => {});
        st.pause();
      }
      attackers.push(session);
    }
    const latencies = [];
    const slowest = [];
    let failures = 0;
    const attackAt = Date.now();
    const until = attackAt + seconds * 1000;
    while (Date.now() < until) {
      const t0 = process.hrtime.bigint();
      try {
        await get(probe, '/small');
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        latencies.push(ms);
        slowest.push({ ms: Number(ms.toFixed(1)), atMs: Date.now() - attackAt });
      } catch {
        failures++;
      }
      await delay(10);
    }
    const during = await ask(portico, 'stop');
    const upstreamCpu = (await ask(upstreamChild, 'stop')).cpuSeconds;
    const parentUsed = process.cpuUsage(parentCpu);
    for (const a of attackers) a.destroy();
    probe.close();
    await delay(1000);
    const after = await ask(portico, 'after');
    latencies.sort((a, b) => a - b);
    const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]?.toFixed(1);
    console.log(
      JSON.stringify(
        {
          attack: { sessions, streams, sizeMiB: env('ATTACK_SIZE_MB', 20), seconds },
          prober: { requests: latencies.length, failures, p50ms: pct(50), p99ms: pct(99), maxms: latencies.at(-1)?.toFixed(1) },
          // When (ms after the attack began) the five slowest probes ended.
          slowest: slowest.sort((a, b) => b.ms - a.ms).slice(0, 5),
          porticoEventLoopDelayMs: Object.fromEntries(Object.entries(during.eld).map(([k, v]) => [k, Number(v.toFixed(1))])),
          maxTempBytes: during.maxTemp,
          cpuSeconds: { portico: during.cpuSeconds, upstream: upstreamCpu, clients: Number(((parentUsed.user + parentUsed.system) / 1e6).toFixed(2)) },
          maxReservedBytes: during.maxReserved,
          afterAttackerLeft: after.after,
        },
        null,
        1,
      ),
    );
  } finally {
    for (const c of children) c.disconnect();
    await delay(300);
    for (const c of children) if (c.exitCode === null) c.kill();
    rmSync(dataDir, { recursive: true, force: true });
    if (tempDir && !process.env.ATTACK_TEMP_DIR) rmSync(tempDir, { recursive: true, force: true });
  }
}
