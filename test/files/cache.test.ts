/**
 * The file cache: changes on disk are seen after `file_cache_valid` (over real sockets with
 * 0, so every request checks), and the cache alone under a fake clock: trusted within the
 * window, re-checked after it, small files read once per version, concurrent misses share one
 * stat. No sleeps: the clock is moved by hand and mtimes are set with utimes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { http } from '../proxy/support.js';
import { FileCache, type FileEntry } from '../../src/files/file-cache.js';
import { nodeFs, type FsBinding } from '../../src/files/fs-binding.js';
import { makeSite, serveFiles } from './support.js';

const T1 = Date.UTC(2024, 0, 1) / 1000;
const T2 = Date.UTC(2024, 5, 1) / 1000;
/** Above the 1 MiB kept in memory. */
const LARGE = 1024 * 1024 + 1;

test('file_cache_valid: 0 — a file changed, removed or created on disk is served as it is now', async (t) => {
  const site = await makeSite();
  const portico = await serveFiles('/', { root: site.root, file_cache_valid: 0 });
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  const file = join(site.root, 'hello.txt');
  await utimes(file, T1, T1);
  const first = await http(`${portico.url}/hello.txt`);
  assert.equal(first.body.toString(), 'hello, world\n');
  // Same size, new bytes, new mtime: the in-memory copy must not survive.
  await writeFile(file, 'HELLO, WORLD\n');
  await utimes(file, T2, T2);
  const second = await http(`${portico.url}/hello.txt`, { headers: { 'If-None-Match': String(first.headers['etag']) } });
  assert.equal(second.status, 200);
  assert.equal(second.body.toString(), 'HELLO, WORLD\n');
  assert.notEqual(second.headers['etag'], first.headers['etag']);
  assert.equal(second.headers['last-modified'], new Date(T2 * 1000).toUTCString());

  // A large (streamed) file too.
  const big = join(site.root, 'big.bin');
  await writeFile(big, Buffer.alloc(LARGE, 1));
  assert.equal((await http(`${portico.url}/big.bin`)).body.length, LARGE);
  await writeFile(big, Buffer.alloc(LARGE + 1000, 2));
  const grown = await http(`${portico.url}/big.bin`);
  assert.equal(grown.body.length, LARGE + 1000);
  assert.equal(grown.body[0], 2);

  await rm(file);
  assert.equal((await http(`${portico.url}/hello.txt`)).status, 404);
  await writeFile(file, 'back\n');
  assert.equal((await http(`${portico.url}/hello.txt`)).body.toString(), 'back\n');
});

/** nodeFs, counting calls. */
function counting(): FsBinding & { calls: Record<string, number> } {
  const calls: Record<string, number> = { stat: 0, realpath: 0, readFile: 0 };
  return {
    ...nodeFs,
    calls,
    stat: (p) => (calls.stat!++, nodeFs.stat(p)),
    realpath: (p) => (calls.realpath!++, nodeFs.realpath(p)),
    readFile: (p) => (calls.readFile!++, nodeFs.readFile(p)),
  };
}

test('FileCache under a fake clock: trusted for `valid` ms, then re-checked; bytes read once per version', async (t) => {
  const site = await makeSite();
  t.after(() => site.cleanup());
  const fs = counting();
  let now = 0;
  const cache = new FileCache(site.root, fs, { valid: 1000, confine: true, now: () => now });
  const path = join(site.root, 'hello.txt');
  await utimes(path, T1, T1);

  const a = await cache.lookup(path);
  assert.equal(a.kind, 'file');
  const etag1 = a.etag;
  assert.equal((await cache.body(a))!.toString(), 'hello, world\n');
  assert.equal(await cache.body(a), a.body);
  assert.equal(fs.calls.readFile, 1);
  const statsAfterFirst = fs.calls.stat;

  await writeFile(path, 'HELLO, WORLD\n');
  await utimes(path, T2, T2);
  now = 999;
  const b = cache.lookup(path);
  assert.ok(!(b instanceof Promise), 'a fresh entry is answered without I/O');
  assert.equal((b as FileEntry).etag, etag1); // inside the window: the old version, by design
  assert.equal(fs.calls.stat, statsAfterFirst);

  now = 1000;
  const c = await cache.lookup(path);
  assert.notEqual(c.etag, etag1);
  assert.equal(c.body, undefined);
  assert.equal((await cache.body(c))!.toString(), 'HELLO, WORLD\n');
  assert.equal(fs.calls.readFile, 2);

  // Unchanged on re-check: the bytes stay.
  now = 5000;
  const d = await cache.lookup(path);
  assert.equal(d.etag, c.etag);
  assert.ok(d.body);
  assert.equal(fs.calls.readFile, 2);
});

test('FileCache: concurrent misses share one stat; missing, outside and large files', async (t) => {
  const site = await makeSite();
  t.after(() => site.cleanup());
  await writeFile(join(site.root, 'large.bin'), Buffer.alloc(LARGE));
  const fs = counting();
  const cache = new FileCache(site.root, fs, { valid: 1000, confine: true, now: () => 0 });
  const path = join(site.root, 'hello.txt');
  const [x, y, z] = await Promise.all([cache.lookup(path), cache.lookup(path), cache.lookup(path)]);
  assert.equal(x, y);
  assert.equal(y, z);
  assert.equal(fs.calls.stat, 1);
  assert.equal((await cache.lookup(join(site.root, 'nope'))).kind, 'missing');
  assert.equal((await cache.lookup(join(site.root, 'link-out'))).kind, 'outside');
  assert.equal((await cache.lookup(join(site.root, 'dir-out'))).kind, 'outside');
  assert.equal((await cache.lookup(join(site.root, 'link-in'))).kind, 'file');
  const large = await cache.lookup(join(site.root, 'large.bin'));
  assert.equal(large.kind, 'file');
  assert.equal(cache.body(large), undefined); // streamed, not kept
  const loose = new FileCache(site.root, fs, { valid: 1000, confine: false, now: () => 0 });
  assert.equal((await loose.lookup(join(site.root, 'link-out'))).kind, 'file');
});

test('FileCache: the memory budget drops the oldest bytes first', async (t) => {
  const site = await makeSite();
  t.after(() => site.cleanup());
  const cache = new FileCache(site.root, nodeFs, { valid: 1000, confine: true, maxBytes: 30, now: () => 0 });
  const hello = await cache.lookup(join(site.root, 'hello.txt')); // 13 bytes
  const data = await cache.lookup(join(site.root, 'data.json')); // 12 bytes
  const app = await cache.lookup(join(site.root, 'app.js')); // 25 bytes
  assert.ok(await cache.body(hello));
  assert.ok(await cache.body(data));
  assert.ok(hello.body && data.body);
  assert.equal((await cache.body(app))!.length, 25);
  assert.equal(hello.body, undefined);
  assert.equal(data.body, undefined);
  assert.ok(app.body);
  const big = await cache.lookup(join(site.root, 'index.html'));
  assert.ok(await cache.body(big)); // 14 bytes: app.js (older) makes room
  assert.equal(app.body, undefined);
});
