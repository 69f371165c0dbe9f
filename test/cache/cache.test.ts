/**
 * The response cache through real sockets (issue 15): what is stored and for how long (nginx's
 * precedence), what a hit looks like (Age, status header, conditional requests, ranges, HEAD),
 * keys, Vary, Authorization, bypass / no_cache / min_uses / methods, purge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerWith, startCached, startOrigin, status, text } from './support.js';
import { delay, http } from '../proxy/support.js';

test('a response with max-age is stored: MISS, then HIT with Age, the origin asked once', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  const p = await startCached(origin.address);
  try {
    const a = await p.get('/a?x=1');
    assert.equal(status(a), 'MISS');
    assert.equal(text(a), '/a?x=1 #1');
    assert.equal(a.headers.age, undefined);
    const b = await p.get('/a?x=1');
    assert.equal(status(b), 'HIT');
    assert.equal(text(b), '/a?x=1 #1');
    assert.match(String(b.headers.age), /^\d+$/);
    assert.equal(b.headers['content-length'], String(b.body.length));
    assert.equal(origin.count('/a?x=1'), 1);
    // Another query is another key.
    assert.equal(status(await p.get('/a?x=2')), 'MISS');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('freshness: X-Accel-Expires beats Cache-Control, which beats Expires, which beats valid; valid applies when the upstream says nothing', async () => {
  const future = new Date(Date.now() + 3600_000).toUTCString();
  const past = new Date(Date.now() - 3600_000).toUTCString();
  const cases: [string, Record<string, string>, boolean][] = [
    ['/accel-over-private', { 'X-Accel-Expires': '60', 'Cache-Control': 'private' }, true],
    ['/accel-zero', { 'X-Accel-Expires': '0', 'Cache-Control': 'max-age=60' }, false],
    ['/max-age-over-past-expires', { 'Cache-Control': 'max-age=60', Expires: past }, true],
    ['/max-age-zero-over-expires', { 'Cache-Control': 'max-age=0', Expires: future }, false],
    ['/s-maxage', { 'Cache-Control': 's-maxage=60, max-age=0' }, true],
    ['/expires-future', { Expires: future }, true],
    ['/expires-past', { Expires: past }, false],
    ['/expires-bad', { Expires: 'soon' }, false],
    ['/no-store', { 'Cache-Control': 'no-store, max-age=60' }, false],
    ['/no-cache', { 'Cache-Control': 'no-cache, max-age=60' }, false],
    ['/private', { 'Cache-Control': 'private, max-age=60' }, false],
    ['/valid-200', {}, true], // valid: { "200": 1m }
    ['/older-than-max-age', { 'Cache-Control': 'max-age=60', Age: '120' }, false],
    ['/vary-star', { 'Cache-Control': 'max-age=60', Vary: '*' }, false],
    ['/set-cookie', { 'Cache-Control': 'max-age=60', 'Set-Cookie': 'a=b' }, false],
  ];
  const byPath = new Map(cases.map(([path, headers]) => [path, headers]));
  const origin = await startOrigin((req, res, n) => answerWith(byPath.get(req.url!)!)(req, res, n));
  const p = await startCached(origin.address, { valid: { '200': '1m' } });
  try {
    for (const [path, , stored] of cases) {
      await p.get(path);
      const second = await p.get(path);
      assert.equal(status(second), stored ? 'HIT' : 'MISS', path);
      assert.equal(second.headers['x-accel-expires'], undefined, `${path}: X-Accel-Expires is nginx's instruction to the proxy, not the client's`);
    }
  } finally {
    await p.close();
    await origin.close();
  }
});

test('valid: by status, "any" for the rest; a status without an entry is not stored', async () => {
  const codes: Record<string, number> = { '/ok': 200, '/moved': 301, '/missing': 404, '/teapot': 418 };
  const origin = await startOrigin((req, res, n) => answerWith({}, codes[req.url!])(req, res, n));
  const p = await startCached(origin.address, { valid: { '200 301': '10m', '404': '1m' } });
  try {
    for (const path of Object.keys(codes)) await p.get(path);
    assert.equal(status(await p.get('/ok')), 'HIT');
    assert.equal(status(await p.get('/moved')), 'HIT');
    assert.equal(status(await p.get('/missing')), 'HIT');
    assert.equal(status(await p.get('/teapot')), 'MISS');
  } finally {
    await p.close();
    await origin.close();
  }
  const any = await startOrigin((req, res, n) => answerWith({}, 418)(req, res, n));
  const q = await startCached(any.address, { valid: { any: '1m' } });
  try {
    await q.get('/teapot');
    assert.equal(status(await q.get('/teapot')), 'HIT');
  } finally {
    await q.close();
    await any.close();
  }
});

test('HEAD: a miss is fetched as GET upstream and stored; later GETs and HEADs are hits', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  const p = await startCached(origin.address);
  try {
    const head = await p.get('/h', {}, 'HEAD');
    assert.equal(status(head), 'MISS');
    assert.equal(head.body.length, 0);
    assert.equal(origin.seen[0]!.method, 'GET', 'proxy_cache_convert_head');
    const get = await p.get('/h');
    assert.equal(status(get), 'HIT');
    assert.equal(text(get), '/h #1');
    const again = await p.get('/h', {}, 'HEAD');
    assert.equal(status(again), 'HIT');
    assert.equal(again.body.length, 0);
    assert.equal(again.headers['content-length'], String(get.body.length));
    assert.equal(origin.seen.length, 1);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('conditional requests: the upstream is asked without them; a client holding the tag gets 304, on a miss and on a hit', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60', ETag: '"v1"', 'Last-Modified': 'Tue, 01 Jan 2030 00:00:00 GMT' }));
  const p = await startCached(origin.address);
  try {
    const miss = await p.get('/c', { 'If-None-Match': '"v1"' });
    assert.equal(miss.status, 304);
    assert.equal(status(miss), 'MISS');
    assert.equal(origin.seen[0]!.headers['if-none-match'], undefined, 'the cache asks for the whole response');
    const hit = await p.get('/c', { 'If-None-Match': 'W/"v1"' });
    assert.equal(hit.status, 304);
    assert.equal(status(hit), 'HIT');
    assert.equal((await p.get('/c', { 'If-None-Match': '"v2"' })).status, 200);
    assert.equal((await p.get('/c', { 'If-Modified-Since': 'Wed, 02 Jan 2030 00:00:00 GMT' })).status, 304);
    assert.equal((await p.get('/c', { 'If-Modified-Since': 'Mon, 31 Dec 2029 00:00:00 GMT' })).status, 200);
    assert.equal((await p.get('/c', { 'If-Match': '"v2"' })).status, 412);
    // The whole body was stored while the first client got a 304.
    const full = await p.get('/c');
    assert.equal(text(full), '/c #1');
    assert.equal(origin.seen.length, 1);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('ranges are answered from the stored full response: one range, several (multipart), unsatisfiable; If-Range', async () => {
  const body = 'SEE-THIS-0123456789';
  const origin = await startOrigin((req, res) => {
    res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Type': 'text/plain', 'Content-Length': String(body.length), ETag: '"r1"' });
    res.end(body);
  });
  const p = await startCached(origin.address);
  try {
    const first = await p.get('/r', { Range: 'bytes=4-' });
    assert.equal(first.status, 200, 'a miss gets the whole response (RFC 9110 §14.2 allows ignoring Range)');
    assert.equal(origin.seen[0]!.headers.range, undefined);
    const one = await p.get('/r', { Range: 'bytes=4-7' });
    assert.equal(one.status, 206);
    assert.equal(text(one), 'THIS');
    assert.equal(one.headers['content-range'], `bytes 4-7/${body.length}`);
    const multi = await p.get('/r', { Range: 'bytes=0-2,4-7' });
    assert.equal(multi.status, 206);
    assert.match(String(multi.headers['content-type']), /^multipart\/byteranges; boundary=/);
    assert.match(text(multi), /SEE[\s\S]*THIS/);
    const bad = await p.get('/r', { Range: 'bytes=100-' });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers['content-range'], `bytes */${body.length}`);
    assert.equal((await p.get('/r', { Range: 'bytes=0-2', 'If-Range': '"r1"' })).status, 206);
    assert.equal((await p.get('/r', { Range: 'bytes=0-2', 'If-Range': '"other"' })).status, 200);
    assert.equal(origin.seen.length, 1);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('the default key has the client\'s host: two hosts on one route are two entries (the Host goes upstream unchanged)', async () => {
  const origin = await startOrigin((req, res, n) => answerWith({ 'Cache-Control': 'max-age=60' })(req, res, n));
  const p = await startCached(origin.address);
  try {
    const a = await http(`${p.url}/k`, { headers: { Host: 'a.example' } });
    const b = await http(`${p.url}/k`, { headers: { Host: 'b.example' } });
    assert.equal(status(b), 'MISS');
    assert.notEqual(text(a), text(b));
    assert.equal(status(await http(`${p.url}/k`, { headers: { Host: 'a.example' } })), 'HIT');
  } finally {
    await p.close();
    await origin.close();
  }
  // nginx's default key ($scheme$proxy_host$request_uri), written out: hosts share the entry.
  const shared = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  const q = await startCached(shared.address, { key: '{scheme}{proxy_host}{uri}' });
  try {
    await http(`${q.url}/k`, { headers: { Host: 'a.example' } });
    assert.equal(status(await http(`${q.url}/k`, { headers: { Host: 'b.example' } })), 'HIT');
  } finally {
    await q.close();
    await shared.close();
  }
});

test('Vary: one variant per value of the named request headers (Accept-Encoding included)', async () => {
  const origin = await startOrigin((req, res, n) => {
    const gzip = /gzip/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = `${gzip ? 'gzipped' : 'plain'} #${n}`;
    res.writeHead(200, { 'Cache-Control': 'max-age=60', Vary: 'Accept-Encoding', 'Content-Length': String(body.length), ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
    res.end(body);
  });
  const p = await startCached(origin.address);
  try {
    assert.equal(text(await p.get('/v', { 'Accept-Encoding': 'gzip' })), 'gzipped #1');
    assert.equal(text(await p.get('/v')), 'plain #2');
    const gz = await p.get('/v', { 'Accept-Encoding': 'gzip' });
    assert.equal(status(gz), 'HIT');
    assert.equal(text(gz), 'gzipped #1');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    const plain = await p.get('/v');
    assert.equal(status(plain), 'HIT');
    assert.equal(text(plain), 'plain #2');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(status(await p.get('/v', { 'Accept-Encoding': 'br' })), 'MISS');
    assert.equal(origin.seen.length, 3);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('Authorization (RFC 9111 §3.5): such a request is not answered from an entry stored for others, nor its response stored, unless public / s-maxage / must-revalidate', async () => {
  const origin = await startOrigin((req, res, n) => {
    const pub = req.url!.startsWith('/public');
    answerWith({ 'Cache-Control': pub ? 'public, max-age=60' : 'max-age=60' })(req, res, n);
  });
  const p = await startCached(origin.address);
  try {
    await p.get('/page');
    const authed = await p.get('/page', { Authorization: 'Basic YTpi' });
    assert.equal(status(authed), 'BYPASS');
    assert.equal(text(authed), '/page #2');
    await p.get('/mine', { Authorization: 'Basic YTpi' });
    assert.equal(status(await p.get('/mine')), 'MISS', 'a response to a request with Authorization was stored');
    await p.get('/public', { Authorization: 'Basic YTpi' });
    assert.equal(status(await p.get('/public', { Authorization: 'Basic Yzpk' })), 'HIT');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('bypass and no_cache conditions (non-empty and not "0"), min_uses, methods', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  const p = await startCached(origin.address, { bypass: ['{arg.nocache}'], no_cache: ['{cookie.nostore}'], min_uses: 2, methods: ['GET', 'POST'] });
  try {
    await p.get('/m');
    assert.equal(status(await p.get('/m')), 'MISS', 'min_uses 2: the second use stores');
    assert.equal(status(await p.get('/m')), 'HIT');
    assert.equal(status(await p.get('/m?nocache=1')), 'BYPASS');
    assert.equal(status(await p.get('/m?nocache=0')), 'MISS');
    await p.get('/n', { Cookie: 'nostore=1' });
    await p.get('/n', { Cookie: 'nostore=1' });
    assert.equal(status(await p.get('/n', { Cookie: 'nostore=1' })), 'MISS', 'no_cache: never stored');
    const put = await p.get('/m', {}, 'PUT');
    assert.equal(status(put), undefined, 'a method the cache does not take passes untouched');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('convert_head false: HEAD passes uncached', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  const p = await startCached(origin.address, { convert_head: false });
  try {
    await p.get('/x', {}, 'HEAD');
    assert.equal(origin.seen[0]!.method, 'HEAD');
    assert.equal(status(await p.get('/x')), 'MISS');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('PURGE from an allowed address removes the key (every variant), "*" a prefix; others get 403', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60', Vary: 'Accept-Language' }));
  const p = await startCached(origin.address, { purge: { allow: ['127.0.0.1'] } });
  const denied = await startCached(origin.address, { purge: { allow: ['10.0.0.0/8'] } });
  try {
    await p.get('/p/1', { 'Accept-Language': 'en' });
    await p.get('/p/1', { 'Accept-Language': 'fr' });
    await p.get('/p/2');
    await p.get('/q');
    assert.equal((await p.get('/p/1', {}, 'PURGE')).status, 204);
    assert.equal(status(await p.get('/p/1', { 'Accept-Language': 'en' })), 'MISS');
    assert.equal(status(await p.get('/p/1', { 'Accept-Language': 'fr' })), 'MISS');
    assert.equal((await p.get('/nothing', {}, 'PURGE')).status, 404);
    assert.equal((await p.get('/p/*', {}, 'PURGE')).status, 204);
    assert.equal(status(await p.get('/p/2')), 'MISS');
    assert.equal(status(await p.get('/q')), 'HIT');
    await denied.get('/d');
    assert.equal((await denied.get('/d', {}, 'PURGE')).status, 403);
    assert.equal(status(await denied.get('/d')), 'HIT');
  } finally {
    await p.close();
    await denied.close();
    await origin.close();
  }
});

test('the purge API (src/cache/purge.ts) by key and by prefix', async () => {
  const { purge } = await import('../../src/cache/purge.js');
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  const p = await startCached(origin.address, { key: '{uri}' });
  try {
    await p.get('/a/1');
    await p.get('/a/2');
    await p.get('/b');
    assert.equal(purge(p.server.cache, { key: '/a/1' }), 1);
    assert.equal(purge(p.server.cache, { zone: 'main', prefix: '/a/' }), 1);
    assert.equal(purge(p.server.cache, { zone: 'nope', prefix: '/' }), -1);
    assert.equal(status(await p.get('/a/1')), 'MISS');
    assert.equal(status(await p.get('/a/2')), 'MISS');
    assert.equal(status(await p.get('/b')), 'HIT');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('an entry expires: EXPIRED goes upstream and stores the new response', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=1' }));
  const p = await startCached(origin.address);
  try {
    await p.get('/e');
    assert.equal(status(await p.get('/e')), 'HIT');
    await delay(1100);
    const e = await p.get('/e');
    assert.equal(status(e), 'EXPIRED');
    assert.equal(text(e), '/e #2');
    assert.equal(text(await p.get('/e')), '/e #2');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('the access log (JSON) has upstream_cache_status, nginx\'s $upstream_cache_status', async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'portico-cache-log-'));
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  const p = await startCached(origin.address, {}, { config: { access_log: { format: 'json', output: join(dir, 'access.log') } } });
  try {
    await p.get('/logged');
    await p.get('/logged');
    await p.close();
    const lines = readFileSync(join(dir, 'access.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // A line is written when its response has finished (the MISS's once its entry is stored,
    // possibly after the HIT's): one of each, in either order.
    assert.deepEqual(lines.map((l) => l.upstream_cache_status).sort(), ['HIT', 'MISS']);
  } finally {
    await p.close();
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
