/**
 * The cache on disk (nginx proxy_cache_path): where entries live (levels), temp files renamed
 * only when complete (a broken response leaves nothing), the index rebuilt at start (a
 * restart keeps the cache; torn files and old temp files removed, foreign files left alone),
 * max_size and keys_zone evicting the least recently used, inactive, and a large response
 * streamed to the client while it is stored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { answerWith, startCached, startOrigin, status, text } from './support.js';
import { delay, eventually, within } from '../proxy/support.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

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

test('entries are files named by the MD5 of the key, under level directories taken from its end (nginx levels)', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  const p = await startCached(origin.address, { key: '{uri}' }, { zone: { levels: '1:2' } });
  try {
    await p.get('/file');
    const h = md5('/file');
    const dir = join(p.dataDir, 'cache', 'main');
    await eventually(() => files(dir).length === 1 && !files(dir)[0]!.endsWith('.tmp'), 'the entry renamed into place');
    assert.deepEqual(files(dir), [`${h.slice(-1)}/${h.slice(-3, -1)}/${h}`]);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('a restart keeps the cache: the index is rebuilt from disk, entries answer with the origin gone', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=600' }));
  const dataDir = mkdtempSync(join(tmpdir(), 'portico-cache-'));
  try {
    const first = await startCached(origin.address, {}, { dataDir });
    for (const path of ['/1', '/2', '/3']) await first.get(path);
    await eventually(() => files(join(dataDir, 'cache', 'main')).filter((f) => !f.endsWith('.tmp')).length === 3, 'three entries on disk');
    await first.close();
    await origin.close();
    const second = await startCached(origin.address, {}, { dataDir });
    try {
      await second.server.cache.get('main')!.loaded;
      for (const path of ['/1', '/2', '/3']) {
        const r = await second.get(path);
        assert.equal(status(r), 'HIT', path);
        assert.equal(text(r), `${path} #${path.slice(1)}`);
      }
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('while the index is being rebuilt, a key not loaded yet is looked for on disk', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=600' }));
  const dataDir = mkdtempSync(join(tmpdir(), 'portico-cache-'));
  try {
    const first = await startCached(origin.address, {}, { dataDir });
    await first.get('/cold');
    await eventually(() => files(join(dataDir, 'cache', 'main')).filter((f) => !f.endsWith('.tmp')).length === 1, 'the entry on disk');
    await first.close();
    const second = await startCached(origin.address, {}, { dataDir });
    try {
      const zone = second.server.cache.get('main')!;
      // Whether or not the loader finished, the entry answers.
      const r = await second.get('/cold');
      assert.equal(status(r), 'HIT');
      assert.equal(origin.seen.length, 1);
      await zone.loaded;
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await origin.close();
  }
});

test('at start, torn entries and temp files left by a crash are removed; files of another format are left alone', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'portico-cache-'));
  const dir = join(dataDir, 'cache', 'main');
  mkdirSync(join(dir, 'a', 'bc'), { recursive: true });
  const torn = Buffer.alloc(100);
  torn.write('PCACHE1\n', 0, 'latin1');
  torn.writeDoubleLE(1000, 32); // says 1000 body bytes; the file has fewer
  writeFileSync(join(dir, 'a', 'bc', '0123456789abcdef0123456789abcabc'), torn);
  writeFileSync(join(dir, 'a', 'bc', '0123456789abcdef0123456789abcabc.1234.tmp'), 'half');
  utimesSync(join(dir, 'a', 'bc', '0123456789abcdef0123456789abcabc.1234.tmp'), new Date(2000, 1, 1), new Date(2000, 1, 1));
  writeFileSync(join(dir, 'a', 'bc', 'fedcba9876543210fedcba9876543abc'), 'an nginx cache file, say');
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  const p = await startCached(origin.address, {}, { dataDir });
  try {
    await p.server.cache.get('main')!.loaded;
    assert.deepEqual(files(dir), ['a/bc/fedcba9876543210fedcba9876543abc']);
  } finally {
    await p.close();
    await origin.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a response that breaks off is never stored: no entry, no temp file', async () => {
  const origin = await startOrigin((req, res) => {
    res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Length': '100000' });
    res.write(Buffer.alloc(10_000, 'x'));
    setTimeout(() => res.socket?.destroy(), 50);
  });
  const p = await startCached(origin.address);
  try {
    await p.get('/broken').catch(() => undefined);
    await delay(200);
    assert.deepEqual(files(join(p.dataDir, 'cache', 'main')).filter((f) => /[0-9a-f]{32}/.test(f)), []);
    assert.equal(p.server.cache.get('main')!.index.size, 0);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('a client that leaves mid-response leaves no entry behind', async () => {
  const origin = await startOrigin((req, res) => {
    res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Length': String(4 * 1024 * 1024) });
    res.write(Buffer.alloc(64 * 1024, 'x'));
    // the rest never comes
  });
  const p = await startCached(origin.address);
  try {
    await within(
      new Promise<void>((resolve) => {
        const req = request(`${p.url}/leave`, { agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => {});
        req.end();
      }),
      5000,
      'first bytes',
    );
    await delay(200);
    assert.deepEqual(files(join(p.dataDir, 'cache', 'main')).filter((f) => /[0-9a-f]{32}/.test(f)), []);
    assert.equal(p.server.cache.get('main')!.locks.size, 0);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('max_size: the least recently used entries go first, files and all', async () => {
  const body = 'x'.repeat(10_000);
  const origin = await startOrigin((req, res) => {
    res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Length': String(body.length) });
    res.end(body);
  });
  // About three entries of 10 kB (plus their heads) fit.
  const p = await startCached(origin.address, { key: '{uri}' }, { zone: { max_size: 32_000 } });
  try {
    const zone = p.server.cache.get('main')!;
    for (const path of ['/1', '/2', '/3']) await p.get(path);
    assert.equal(status(await p.get('/1')), 'HIT'); // /2 is now the least recently used
    await p.get('/4');
    assert.ok(zone.index.diskBytes <= 32_000);
    assert.equal(status(await p.get('/1')), 'HIT');
    assert.equal(status(await p.get('/3')), 'HIT');
    assert.equal(status(await p.get('/4')), 'HIT');
    assert.equal(zone.index.get(md5('/2')), undefined);
    await eventually(() => !existsSync(zone.path(md5('/2'))), 'the evicted file removed');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('keys_zone bounds the index: beyond it the least recently used keys go, whatever is on disk', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  // Room for about 8 nodes of 256 bytes plus short keys.
  const p = await startCached(origin.address, { key: '{uri}' }, { zone: { keys_zone: 8 * 260 } });
  try {
    const zone = p.server.cache.get('main')!;
    for (let i = 0; i < 30; i++) await p.get(`/k${i}`);
    assert.ok(zone.index.size <= 8, `index has ${zone.index.size} nodes`);
    assert.ok(zone.index.bytes <= 8 * 260);
    assert.equal(status(await p.get('/k29')), 'HIT');
    assert.equal(status(await p.get('/k0')), 'MISS');
    await eventually(() => files(join(p.dataDir, 'cache', 'main')).filter((f) => /[0-9a-f]{32}$/.test(f)).length <= 9, 'evicted files removed');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('inactive: an entry unused for that long is removed, fresh or not', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=600' }));
  const p = await startCached(origin.address, { key: '{uri}' }, { zone: { inactive: '1s' } });
  try {
    await p.get('/idle');
    const zone = p.server.cache.get('main')!;
    await eventually(() => existsSync(zone.path(md5('/idle'))), 'stored');
    await eventually(() => zone.index.size === 0 && !existsSync(zone.path(md5('/idle'))), 'removed after inactive', 10_000);
    assert.equal(status(await p.get('/idle')), 'MISS');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('a large response reaches the client while it is being stored (the client does not wait for the whole body)', async () => {
  let finish: (() => void) | null = null;
  const size = 2 * 1024 * 1024;
  const origin = await startOrigin((req, res, n) => {
    res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Length': String(size) });
    res.write(Buffer.alloc(size / 2, 'a'));
    const end = () => res.end(Buffer.alloc(size / 2, 'b'));
    if (n === 1) finish = end;
    else end(); // a request that raced the entry's rename
  });
  const p = await startCached(origin.address);
  try {
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      const req = request(`${p.url}/big`, { agent: false }, (res) => {
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    await eventually(() => received > 0, 'the first bytes while the origin still holds the rest');
    (finish as unknown as () => void)();
    await within(done, 10_000, 'the whole body');
    assert.equal(received, size);
    let hit = await p.get('/big');
    for (let i = 0; i < 50 && status(hit) !== 'HIT'; i++) {
      await delay(20);
      hit = await p.get('/big');
    }
    assert.equal(status(hit), 'HIT');
    assert.equal(hit.body.length, size);
    assert.equal(hit.body[size - 1], 'b'.charCodeAt(0));
  } finally {
    await p.close();
    await origin.close();
  }
});
