/**
 * Stopping a server with the cache writing: close() resolves only once no entry write is in
 * flight. An entry whose response ended is finished (a whole file under its name), one whose
 * response was still coming is given up (its temp file removed), so the data directory is
 * the caller's again the moment close() resolves: nothing is created in it afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startCached, startOrigin, closeAll } from './support.js';
import { eventually, within } from '../proxy/support.js';
import { readEntryHead } from '../../src/cache/zone.js';

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, rel + name + '/');
      else out.push(rel + name);
    }
  };
  walk(dir, '');
  return out.sort();
}

const BODY = 1024 * 1024; // above the hot tier's keep limit: the entry joins the index only once renamed

test('close waits for entry writes in flight: every stored entry is whole, no temp file is left, nothing appears afterwards', async () => {
  const body = Buffer.alloc(BODY, 'x');
  const origin = await startOrigin((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length), 'Cache-Control': 'max-age=60' });
    res.end(body);
  });
  const p = await startCached(origin.address);
  const dir = join(p.dataDir, 'cache', 'main');
  try {
    const paths = Array.from({ length: 8 }, (_, i) => `/big/${i}`);
    const results = await within(Promise.all(paths.map((path) => p.get(path))), 30_000, 'the responses');
    assert.ok(results.every((r) => r.status === 200 && r.body.length === BODY));
    // The clients have every byte; the entries' files may still be being written.
    await p.server.close();
    const after = files(dir);
    assert.deepEqual(after.filter((f) => f.endsWith('.tmp')), [], 'no temp file once close() resolved');
    assert.equal(after.length, paths.length, 'each ended response finished as an entry');
    for (const f of after) {
      const head = await readEntryHead(join(dir, f));
      assert.ok(typeof head === 'object' && head.prefix.bodyLength === BODY, `${f} is a whole entry`);
    }
    // What the cache tests do next: remove the directory. Nothing may be writing into it.
    rmSync(p.dataDir, { recursive: true });
    assert.equal(existsSync(p.dataDir), false);
  } finally {
    await closeAll(p, origin);
  }
});

test('close gives up an entry whose response is still coming: its temp file is removed before close resolves', async () => {
  let upstream: import('node:http').ServerResponse | undefined;
  const origin = await startOrigin((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(BODY), 'Cache-Control': 'max-age=60' });
    res.write(Buffer.alloc(BODY / 2, 'y')); // half, then nothing: the response is in flight when the server stops
    upstream = res;
  });
  const p = await startCached(origin.address, {}, { config: { shutdown_timeout: '200ms' } });
  const dir = join(p.dataDir, 'cache', 'main');
  try {
    const pending = p.get('/half').catch((err: Error) => err);
    await eventually(() => upstream !== undefined && files(dir).some((f) => f.endsWith('.tmp')), 'the entry being written');
    await p.server.close();
    assert.deepEqual(files(dir), [], 'the unfinished entry left nothing');
    rmSync(p.dataDir, { recursive: true });
    await pending;
  } finally {
    upstream?.destroy();
    await closeAll(p, origin);
  }
});
