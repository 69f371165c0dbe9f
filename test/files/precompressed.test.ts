/**
 * Precompressed sidecars chosen by Accept-Encoding: the right bytes, Content-Encoding, Vary,
 * an ETag per coding, q=0 refusals, identity preference, missing sidecars; and the chooser
 * alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { http } from '../proxy/support.js';
import { codingChooser } from '../../src/files/precompressed.js';
import { makeSite, serveFiles } from './support.js';

test('Accept-Encoding picks the sidecar: a table', async (t) => {
  const site = await makeSite();
  const portico = await serveFiles('/', { root: site.root, precompressed: ['br', 'zstd', 'gzip'] });
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  const cases: [string | undefined, string | undefined, string][] = [
    [undefined, undefined, 'console.log("identity");\n'],
    ['gzip, deflate, br, zstd', 'br', 'BROTLI-BYTES'],
    ['gzip, deflate, br', 'br', 'BROTLI-BYTES'],
    ['gzip', 'gzip', 'GZIP-BYTES'],
    ['x-gzip', 'gzip', 'GZIP-BYTES'],
    ['zstd', 'zstd', 'ZSTD-BYTES'],
    ['br;q=0, gzip', 'gzip', 'GZIP-BYTES'],
    ['br;q=0.5, gzip;q=0.8', 'gzip', 'GZIP-BYTES'],
    ['gzip, zstd', 'zstd', 'ZSTD-BYTES'], // tie: configured order
    ['*', 'br', 'BROTLI-BYTES'],
    ['*;q=0, identity', undefined, 'console.log("identity");\n'],
    ['gzip;q=0.5, identity', undefined, 'console.log("identity");\n'],
    ['deflate', undefined, 'console.log("identity");\n'],
    ['identity', undefined, 'console.log("identity");\n'],
  ];
  const etags = new Map<string | undefined, string>();
  for (const [accept, coding, body] of cases) {
    await t.test(String(accept), async () => {
      const res = await http(`${portico.url}/app.js`, { headers: accept === undefined ? {} : { 'Accept-Encoding': accept } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], coding);
      assert.equal(res.body.toString(), body);
      assert.equal(res.headers['content-length'], String(body.length));
      assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(res.headers['vary'], 'Accept-Encoding');
      const etag = String(res.headers['etag']);
      if (coding) assert.match(etag, new RegExp(`-${coding}"$`));
      if (etags.has(coding)) assert.equal(etags.get(coding), etag);
      etags.set(coding, etag);
    });
  }
  assert.equal(new Set(etags.values()).size, 4, 'one ETag per representation');

  // 304 per representation: the br tag does not validate the gzip bytes.
  const brTag = etags.get('br')!;
  assert.equal((await http(`${portico.url}/app.js`, { headers: { 'Accept-Encoding': 'br', 'If-None-Match': brTag } })).status, 304);
  assert.equal((await http(`${portico.url}/app.js`, { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': brTag } })).status, 200);
  // Ranges apply to the encoded bytes.
  const part = await http(`${portico.url}/app.js`, { headers: { 'Accept-Encoding': 'br', Range: 'bytes=0-5' } });
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), 'BROTLI');
  // No sidecar: the file itself, still with Vary.
  const plain = await http(`${portico.url}/hello.txt`, { headers: { 'Accept-Encoding': 'br, gzip' } });
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), 'hello, world\n');
  assert.equal(plain.headers['vary'], 'Accept-Encoding');
});

test('only listed codings are served; none listed: sidecars ignored, no Vary', async (t) => {
  const site = await makeSite();
  const gzipOnly = await serveFiles('/', { root: site.root, precompressed: ['gzip'] });
  const none = await serveFiles('/', { root: site.root });
  t.after(async () => {
    await Promise.all([gzipOnly.close(), none.close()]);
    await site.cleanup();
  });
  const a = await http(`${gzipOnly.url}/app.js`, { headers: { 'Accept-Encoding': 'br, gzip' } });
  assert.equal(a.headers['content-encoding'], 'gzip');
  assert.equal(a.body.toString(), 'GZIP-BYTES');
  const b = await http(`${none.url}/app.js`, { headers: { 'Accept-Encoding': 'br, gzip' } });
  assert.equal(b.headers['content-encoding'], undefined);
  assert.equal(b.headers['vary'], undefined);
  assert.equal(b.body.toString(), 'console.log("identity");\n');
});

test('codingChooser: pure cases', () => {
  const choose = codingChooser(['br', 'zstd', 'gzip']);
  assert.deepEqual(choose(undefined), []);
  assert.deepEqual(choose('gzip, br'), ['br', 'gzip']);
  assert.deepEqual(choose('gzip;q=1.0, br;q=0.9'), ['gzip', 'br']);
  assert.deepEqual(choose('br;q=0'), []);
  assert.deepEqual(choose('BR'), ['br']);
  assert.deepEqual(choose('*;q=0.1, gzip;q=0'), ['br', 'zstd']); // a tie with identity goes to the smaller bytes
  assert.deepEqual(choose('br;q=0.5, identity'), []);
  assert.deepEqual(choose('br;q=0.5, identity;q=0.2'), ['br']);
  assert.deepEqual(codingChooser([])('br'), []);
});
