/**
 * Conditional requests (RFC 9110 §13.2.2) as a table over real sockets: which of 200, 304 and
 * 412 each combination of If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since
 * gets, plus the pure evaluation of the same rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { http } from '../proxy/support.js';
import { evaluatePreconditions } from '../../src/files/conditional.js';
import { makeSite, serveFiles } from './support.js';

/** hello.txt's mtime is pinned to this second. */
const MTIME = Date.UTC(2024, 0, 15, 12, 0, 0);
const date = (ms: number) => new Date(ms).toUTCString();

test('preconditions over the wire: a table', async (t) => {
  const site = await makeSite();
  await utimes(join(site.root, 'hello.txt'), MTIME / 1000, MTIME / 1000);
  const portico = await serveFiles('/', { root: site.root, cache_control: 'no-cache' });
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  const first = await http(`${portico.url}/hello.txt`);
  const etag = String(first.headers['etag']);
  assert.equal(first.headers['last-modified'], date(MTIME));

  const cases: [string, Record<string, string>, number][] = [
    ['If-None-Match equal', { 'If-None-Match': etag }, 304],
    ['If-None-Match in a list', { 'If-None-Match': `"nope", ${etag}` }, 304],
    ['If-None-Match weak form matches (weak comparison)', { 'If-None-Match': `W/${etag}` }, 304],
    ['If-None-Match *', { 'If-None-Match': '*' }, 304],
    ['If-None-Match other', { 'If-None-Match': '"other"' }, 200],
    ['If-Modified-Since equal', { 'If-Modified-Since': date(MTIME) }, 304],
    ['If-Modified-Since later', { 'If-Modified-Since': date(MTIME + 60_000) }, 304],
    ['If-Modified-Since earlier', { 'If-Modified-Since': date(MTIME - 1000) }, 200],
    ['If-Modified-Since garbage is ignored', { 'If-Modified-Since': 'yesterday' }, 200],
    ['If-None-Match wins over If-Modified-Since', { 'If-None-Match': '"other"', 'If-Modified-Since': date(MTIME) }, 200],
    ['If-Match equal', { 'If-Match': etag }, 200],
    ['If-Match *', { 'If-Match': '*' }, 200],
    ['If-Match other', { 'If-Match': '"other"' }, 412],
    ['If-Match weak never matches (strong comparison)', { 'If-Match': `W/${etag}` }, 412],
    ['If-Unmodified-Since earlier', { 'If-Unmodified-Since': date(MTIME - 1000) }, 412],
    ['If-Unmodified-Since equal', { 'If-Unmodified-Since': date(MTIME) }, 200],
    ['If-Match wins over If-Unmodified-Since', { 'If-Match': etag, 'If-Unmodified-Since': date(MTIME - 1000) }, 200],
    ['If-Match passes, then If-None-Match', { 'If-Match': etag, 'If-None-Match': etag }, 304],
  ];
  for (const [name, headers, status] of cases) {
    await t.test(name, async () => {
      const res = await http(`${portico.url}/hello.txt`, { headers });
      assert.equal(res.status, status);
      if (status === 304) {
        assert.equal(res.body.length, 0);
        // §15.4.5: the validators and cache headers of the 200 it stands for.
        assert.equal(res.headers['etag'], etag);
        assert.equal(res.headers['cache-control'], 'no-cache');
        assert.equal(res.headers['content-length'], undefined);
      }
      if (status === 200) assert.equal(res.body.toString(), 'hello, world\n');
    });
  }
  const head = await http(`${portico.url}/hello.txt`, { method: 'HEAD', headers: { 'If-None-Match': etag } });
  assert.equal(head.status, 304);
});

test('evaluatePreconditions: pure cases, ETags off', () => {
  const v = { etag: '"a-1"', mtimeSec: 100 };
  assert.equal(evaluatePreconditions({}, v), 200);
  assert.equal(evaluatePreconditions({ 'if-none-match': '"a-1"' }, v), 304);
  assert.equal(evaluatePreconditions({ 'if-modified-since': new Date(100_000).toUTCString() }, v), 304);
  assert.equal(evaluatePreconditions({ 'if-modified-since': new Date(99_000).toUTCString() }, v), 200);
  const off = { etag: undefined, mtimeSec: 100 };
  assert.equal(evaluatePreconditions({ 'if-none-match': '"a-1"' }, off), 200);
  assert.equal(evaluatePreconditions({ 'if-match': '"a-1"' }, off), 412);
  assert.equal(evaluatePreconditions({ 'if-match': '*' }, off), 200);
});
