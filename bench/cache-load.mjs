#!/usr/bin/env node
// The response cache's start with many entries on disk (issue 15): how long the index takes to
// be rebuilt, and the process's RSS once it is, against the same Portico with an empty zone and
// with a keys_zone too small for the directory (the index, not the disk, bounds memory).
//   CACHE_ENTRIES=100000   entries written (1 KiB bodies, levels 1:2, Portico's format)
//   Run: npx tsc -p . && node --expose-gc bench/cache-load.mjs
// Besides the server's RSS, the zone is also loaded in this process, and V8's heap measured
// after a full GC: what the index itself keeps, without the loader's garbage.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeMeta, encodePrefix, PREFIX } from '../dist/src/cache/entry-format.js';
import { entryPath, keyHash, levelDirs } from '../dist/src/cache/key.js';
import { CacheZone } from '../dist/src/cache/zone.js';
import { silentLog } from '../dist/src/log/error-log.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const N = Number(process.env.CACHE_ENTRIES) || 100_000;
const SETTLE_MS = 15_000;
const tmp = mkdtempSync(join(tmpdir(), 'portico-cache-load-'));
const log = (m) => process.stderr.write(`[cache-load] ${m}\n`);

async function fill(dir, n) {
  const body = Buffer.alloc(1024, 'x');
  const now = Date.now();
  const made = new Map();
  for (let i = 0; i < n; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 500); j++) {
      const key = `http://example.com/articles/${j}/some-slug-here?page=${j % 7}`;
      const hash = keyHash(key);
      const meta = encodeMeta({ key, status: 200, reason: 'OK', headers: ['Content-Type', 'text/html; charset=utf-8', 'Cache-Control', 'max-age=86400'] });
      const prefix = encodePrefix({ stored: now, expires: now + 86_400_000, swr: 0, sie: 0, bodyLength: body.length, metaLength: meta.length, flags: 0, age: 0 });
      const sub = join(dir, ...levelDirs(hash, [1, 2]));
      batch.push(
        (async () => {
          if (!made.has(sub)) made.set(sub, mkdir(sub, { recursive: true }));
          await made.get(sub);
          await writeFile(entryPath(dir, [1, 2], hash), Buffer.concat([prefix, meta, body], PREFIX + meta.length + body.length));
        })(),
      );
    }
    await Promise.all(batch);
  }
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Starts `portico run` on a zone; resolves with load time, entries and RSS once loaded and settled. */
async function measure(name, zoneDir, keysZone) {
  const config = {
    data_dir: join(tmp, 'data'),
    access_log: false,
    log_level: 'info',
    cache: { main: { path: zoneDir, keys_zone: keysZone, memory: 0 } },
    servers: [{ listen: '127.0.0.1:0', routes: [{ path: '/', proxy: { to: '127.0.0.1:9' }, cache: 'main' }] }],
  };
  const file = join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const started = Date.now();
  // The malloc threshold `portico run` would set by starting itself again (cli/malloc-relaunch.ts),
  // given here so that the measured process is the server itself.
  const env = { ...process.env, MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024) };
  const child = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'run', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let err = '';
  const loaded = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not loaded within 300 s\n${err}`)), 300_000);
    child.stderr.on('data', (d) => {
      err += d;
      for (const line of err.split('\n')) {
        if (!line.includes('"cache loaded"')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.once('exit', (code) => reject(new Error(`${name}: exited ${code}\n${err}`)));
  });
  // Idle, so V8's memory reducer shrinks the heap the loading grew (garbage of metadata parsed).
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const rss = rssKiB(child.pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { name, entries: loaded.entries, loadMs: loaded.ms, sinceSpawnMs: Date.now() - started - SETTLE_MS, rssMiB: rss / 1024 };
}

/** Loads a zone in this process: V8's heap after a full GC. */
async function inProcess(dir, keysZone) {
  const zone = new CacheZone('main', dir, [1, 2], { keysZone, maxSize: Infinity, inactive: 3_600_000, memory: 0 }, silentLog());
  zone.start();
  await zone.loaded;
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const out = { entries: zone.index.size, indexBytes: zone.index.bytes, heapMiB: process.memoryUsage().heapUsed / 1024 / 1024 };
  zone.close();
  return out;
}

try {
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  const full = join(tmp, 'full');
  log(`writing ${N} entries`);
  const t0 = Date.now();
  await fill(full, N);
  log(`written in ${Date.now() - t0} ms`);
  const heap = [await inProcess(empty, 64 * 1024 * 1024), await inProcess(full, 64 * 1024 * 1024)];
  const rows = [
    await measure('empty zone, keys_zone 64m', empty, '64m'),
    await measure(`${N} entries, keys_zone 64m`, full, '64m'),
    await measure(`${N} entries, keys_zone 4m`, full, '4m'),
  ];
  process.stdout.write(`\n| run | entries in the index | index rebuilt in | RSS once loaded |\n|---|---:|---:|---:|\n`);
  for (const r of rows) process.stdout.write(`| ${r.name} | ${r.entries.toLocaleString('en-US')} | ${(r.loadMs / 1000).toFixed(2)} s | ${r.rssMiB.toFixed(1)} MiB |\n`);
  process.stdout.write(`\nIn one process, V8 heap after a full GC: empty zone ${heap[0].heapMiB.toFixed(1)} MiB; ${heap[1].entries.toLocaleString('en-US')} entries ${heap[1].heapMiB.toFixed(1)} MiB (${(((heap[1].heapMiB - heap[0].heapMiB) * 1024 * 1024) / Math.max(1, heap[1].entries)).toFixed(0)} bytes per entry; the index counts ${(heap[1].indexBytes / Math.max(1, heap[1].entries)).toFixed(0)}).\n`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
