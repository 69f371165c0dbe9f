/**
 * Range requests (RFC 9110 §14) over real sockets: single ranges, suffixes, clamping, 416
 * with "bytes * /size", multipart/byteranges, coalescing, If-Range, HEAD; and parseRange alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { http, one, rawRequest } from '../proxy/support.js';
import { parseRange } from '../../src/files/range.js';
import { makeSite, rawGet, serveFiles } from './support.js';

const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'; // 36 bytes
const MTIME = Date.UTC(2024, 0, 15, 12, 0, 0);
const BIG = 2 * 1024 * 1024 + 5;

async function rangeSite(t: import('node:test').TestContext, extra: Record<string, unknown> = {}) {
  const site = await makeSite();
  await writeFile(join(site.root, 'digits.txt'), DIGITS);
  await writeFile(join(site.root, 'big.bin'), Buffer.alloc(BIG, 7)); // above the in-memory size: streamed
  await writeFile(join(site.root, 'empty.txt'), '');
  await utimes(join(site.root, 'digits.txt'), MTIME / 1000, MTIME / 1000);
  const portico = await serveFiles('/', { root: site.root, ...extra });
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  return portico;
}

test('single ranges: a table', async (t) => {
  const portico = await rangeSite(t);
  const cases: [string, number, string | undefined, string][] = [
    ['bytes=0-4', 206, 'bytes 0-4/36', '01234'],
    ['bytes=10-', 206, 'bytes 10-35/36', DIGITS.slice(10)],
    ['bytes=-5', 206, 'bytes 31-35/36', 'vwxyz'],
    ['bytes=-100', 206, 'bytes 0-35/36', DIGITS],
    ['bytes=30-1000', 206, 'bytes 30-35/36', 'uvwxyz'],
    ['bytes=35-35', 206, 'bytes 35-35/36', 'z'],
    ['bytes= 1-2 ', 206, 'bytes 1-2/36', '12'],
    ['BYTES=0-0', 206, 'bytes 0-0/36', '0'],
    ['bytes=5-2', 200, undefined, DIGITS], // invalid: ignored
    ['bytes=abc', 200, undefined, DIGITS],
    ['items=0-1', 200, undefined, DIGITS],
    ['bytes=', 200, undefined, DIGITS],
  ];
  for (const [range, status, contentRange, body] of cases) {
    await t.test(range, async () => {
      const res = await http(`${portico.url}/digits.txt`, { headers: { Range: range } });
      assert.equal(res.status, status);
      assert.equal(res.headers['content-range'], contentRange);
      assert.equal(res.body.toString(), body);
      assert.equal(res.headers['content-length'], String(body.length));
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    });
  }
});

test('unsatisfiable: 416 with Content-Range: bytes */size', async (t) => {
  const portico = await rangeSite(t);
  for (const [path, range, size] of [
    ['/digits.txt', 'bytes=36-', 36],
    ['/digits.txt', 'bytes=100-200', 36],
    ['/digits.txt', 'bytes=-0', 36],
    ['/digits.txt', 'bytes=40-50, 60-', 36],
    ['/empty.txt', 'bytes=0-', 0],
  ] as const) {
    const res = await http(`${portico.url}${path}`, { headers: { Range: range } });
    assert.equal(res.status, 416, range);
    assert.equal(res.headers['content-range'], `bytes */${size}`);
  }
});

test('several ranges: multipart/byteranges with exact length; overlapping ones coalesce', async (t) => {
  const portico = await rangeSite(t);
  for (const path of ['/digits.txt', '/big.bin']) {
    const res = await rawRequest(portico.port, rawGet(path, 'Range: bytes=0-1, 5-6, -2\r\n'));
    assert.equal(res.status, 206);
    const type = one(res, 'content-type')!;
    const m = /^multipart\/byteranges; boundary=(\S+)$/.exec(type);
    assert.ok(m, type);
    assert.equal(Number(one(res, 'content-length')), res.body.length);
    const parts = res.body.toString('latin1').split(`--${m[1]}`);
    assert.equal(parts.length, 5); // preamble, 3 parts, "--" epilogue
    assert.equal(parts[4], '--\r\n');
    const size = path === '/digits.txt' ? 36 : BIG;
    const expected = path === '/digits.txt' ? ['01', '56', 'yz'] : ['\x07\x07', '\x07\x07', '\x07\x07'];
    const ranges = ['0-1', '5-6', `${size - 2}-${size - 1}`];
    parts.slice(1, 4).forEach((part, i) => {
      const [head, body] = part.split('\r\n\r\n');
      assert.match(head!, new RegExp(`Content-Range: bytes ${ranges[i]}/${size}`));
      assert.match(head!, path === '/digits.txt' ? /Content-Type: text\/plain; charset=utf-8/ : /Content-Type: application\/octet-stream/);
      assert.equal(body, expected[i] + '\r\n');
    });
  }
  const merged = await http(`${portico.url}/digits.txt`, { headers: { Range: 'bytes=0-3, 2-5, 6-7' } });
  assert.equal(merged.status, 206);
  assert.equal(merged.headers['content-range'], 'bytes 0-7/36');
  assert.equal(merged.body.toString(), '01234567');
});

test('If-Range: a matching ETag or date keeps the Range, anything else gets the whole file; HEAD ignores Range', async (t) => {
  const portico = await rangeSite(t);
  const etag = String((await http(`${portico.url}/digits.txt`)).headers['etag']);
  const get = (headers: Record<string, string>) => http(`${portico.url}/digits.txt`, { headers: { Range: 'bytes=0-1', ...headers } });
  assert.equal((await get({ 'If-Range': etag })).status, 206);
  assert.equal((await get({ 'If-Range': new Date(MTIME).toUTCString() })).status, 206);
  const stale = await get({ 'If-Range': '"stale"' });
  assert.equal(stale.status, 200);
  assert.equal(stale.body.toString(), DIGITS);
  assert.equal((await get({ 'If-Range': `W/${etag}` })).status, 200);
  assert.equal((await get({ 'If-Range': new Date(MTIME + 1000).toUTCString() })).status, 200);
  const head = await http(`${portico.url}/digits.txt`, { method: 'HEAD', headers: { Range: 'bytes=0-1' } });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '36');
});

test('ranges of a streamed (large) file', async (t) => {
  const portico = await rangeSite(t);
  const res = await http(`${portico.url}/big.bin`, { headers: { Range: 'bytes=100000-' } });
  assert.equal(res.status, 206);
  assert.equal(res.body.length, BIG - 100000);
  assert.equal(res.headers['content-range'], `bytes 100000-${BIG - 1}/${BIG}`);
});

test('parseRange: a table', () => {
  assert.deepEqual(parseRange('bytes=0-0', 10), [{ start: 0, end: 0 }]);
  assert.deepEqual(parseRange('bytes=-3', 10), [{ start: 7, end: 9 }]);
  assert.deepEqual(parseRange('bytes=8-,0-1', 10), [
    { start: 8, end: 9 },
    { start: 0, end: 1 },
  ]);
  assert.deepEqual(parseRange('bytes=0-5,3-9', 10), [{ start: 0, end: 9 }]);
  assert.deepEqual(parseRange('bytes=0-1,2-3', 10), [{ start: 0, end: 3 }]); // adjacent
  assert.deepEqual(parseRange('bytes=0-99999999999999999999', 10), [{ start: 0, end: 9 }]);
  assert.equal(parseRange('bytes=99999999999999999999-', 10), 'unsatisfiable');
  assert.equal(parseRange('bytes=10-', 10), 'unsatisfiable');
  assert.equal(parseRange('bytes=-1', 0), 'unsatisfiable');
  assert.equal(parseRange('bytes=1-0', 10), undefined);
  assert.equal(parseRange('bytes=-', 10), undefined);
  assert.equal(parseRange('bytes=0-1;x', 10), undefined);
  assert.equal(parseRange('pages=1-2', 10), undefined);
  assert.equal(parseRange('bytes=' + Array.from({ length: 33 }, (_, i) => `${i}-${i}`).join(','), 100), undefined);
});
