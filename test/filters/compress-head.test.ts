/**
 * The pure parts of on-the-fly compression: Accept-Encoding read with q-values, identity and
 * `*` (src/http/accept-encoding.ts), and what a response head becomes
 * (src/filters/compress-head.ts): pass, pass with Vary, or compress, and the head's edits.
 * The same rules through real sockets: compress.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseCodings, codingChooser } from '../../src/http/accept-encoding.js';
import { decideHead, PROXIED, type CompressPolicy, type RequestSide } from '../../src/filters/compress-head.js';
import { compileCompress } from '../../src/compile/compress.js';
import { compressOptions } from '../../src/config/compress-schema.js';
import { AVAILABLE_CODINGS } from '../../src/filters/compress-codings.js';

const ALL = ['zstd', 'br', 'gzip'] as const;

test('Accept-Encoding: q-values decide, the server order breaks ties', () => {
  assert.deepEqual(chooseCodings('gzip, br', ALL), ['br', 'gzip']);
  assert.deepEqual(chooseCodings('gzip, br', ['gzip', 'br']), ['gzip', 'br']);
  assert.deepEqual(chooseCodings('gzip;q=1.0, br;q=0.9', ALL), ['gzip', 'br']);
  assert.deepEqual(chooseCodings('br;q=0.5, gzip;q=0.8, zstd;q=0.1', ALL), ['gzip', 'br', 'zstd']);
  assert.deepEqual(chooseCodings('GZIP', ALL), ['gzip']);
  assert.deepEqual(chooseCodings('x-gzip', ALL), ['gzip']);
  assert.deepEqual(chooseCodings(' gzip ; q = 0.5 ', ALL), ['gzip']);
  assert.deepEqual(chooseCodings('deflate, compress', ALL), []);
});

test('Accept-Encoding: q=0 refuses, * weighs the rest, identity competes only when weighed', () => {
  assert.deepEqual(chooseCodings('gzip;q=0', ALL), []);
  assert.deepEqual(chooseCodings('*', ALL), ['zstd', 'br', 'gzip']);
  assert.deepEqual(chooseCodings('*;q=0.5, gzip', ALL), ['gzip', 'zstd', 'br']);
  assert.deepEqual(chooseCodings('*, br;q=0', ALL), ['zstd', 'gzip']);
  assert.deepEqual(chooseCodings('*;q=0', ALL), []);
  // identity;q=0 refuses the plain bytes: any coding is still taken.
  assert.deepEqual(chooseCodings('gzip, identity;q=0', ALL), ['gzip']);
  // An unlisted identity does not outweigh a low q.
  assert.deepEqual(chooseCodings('gzip;q=0.1', ALL), ['gzip']);
  // A listed identity does.
  assert.deepEqual(chooseCodings('gzip;q=0.5, identity', ALL), []);
  assert.deepEqual(chooseCodings('gzip;q=0.5, identity;q=0.2', ALL), ['gzip']);
  assert.deepEqual(chooseCodings('*;q=0.1, gzip;q=0', ALL), ['zstd', 'br']);
});

test('Accept-Encoding: a weight that is not a qvalue drops its entry; empty asks for nothing', () => {
  assert.deepEqual(chooseCodings('gzip;q=2', ALL), []);
  assert.deepEqual(chooseCodings('gzip;q=-1, br', ALL), ['br']);
  assert.deepEqual(chooseCodings('gzip;q=0.1234', ALL), []);
  assert.deepEqual(chooseCodings('gzip;q=abc', ALL), []);
  assert.deepEqual(chooseCodings('gzip;level=1', ALL), ['gzip']);
  const choose = codingChooser(['br', 'gzip']);
  assert.deepEqual(choose(undefined), []);
  assert.deepEqual(choose(''), []);
  assert.deepEqual(codingChooser([])('gzip'), []);
  // Remembered per value, and bounded.
  for (let i = 0; i < 200; i++) assert.deepEqual(choose(`gzip;q=0.${i % 10}${i % 7}, x${i}`), i % 10 === 0 && i % 7 === 0 ? [] : ['gzip']);
});

function policy(over: Partial<CompressPolicy> = {}): CompressPolicy {
  return { ...compileCompress(true)!, ...over };
}

const GZIP: RequestSide = { coding: 'gzip', via: false, auth: false };
const NONE: RequestSide = { coding: null, via: false, auth: false };

/** Header value by name (the last one), or undefined. */
function get(headers: string[], name: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) v = headers[i + 1];
  return v;
}

function count(headers: string[], name: string): number {
  let n = 0;
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) n++;
  return n;
}

const JSON_HEAD = ['Content-Type', 'application/json; charset=utf-8', 'Content-Length', '100000', 'ETag', '"v1"', 'Accept-Ranges', 'bytes'];

test('a compressible head: Content-Encoding, Vary, weak ETag; no Content-Length or Accept-Ranges; the caller’s array unchanged', () => {
  const before = [...JSON_HEAD];
  const d = decideHead(policy(), GZIP, 200, JSON_HEAD);
  assert.deepEqual(JSON_HEAD, before);
  assert.equal(d.coding, 'gzip');
  assert.equal(d.length, 100000);
  assert.equal(d.flushEachWrite, false);
  assert.deepEqual(d.headers, ['Content-Type', 'application/json; charset=utf-8', 'ETag', 'W/"v1"', 'Vary', 'Accept-Encoding', 'Content-Encoding', 'gzip']);
});

test('the decision depends on Accept-Encoding: Vary even when this client gets the plain bytes; ETag strong then', () => {
  const d = decideHead(policy(), NONE, 200, JSON_HEAD);
  assert.equal(d.coding, null);
  assert.equal(get(d.headers, 'vary'), 'Accept-Encoding');
  assert.equal(get(d.headers, 'etag'), '"v1"');
  assert.equal(get(d.headers, 'content-length'), '100000');
});

test('Vary is merged, never repeated', () => {
  const merged = decideHead(policy(), GZIP, 200, ['Content-Type', 'text/html', 'Vary', 'Cookie']);
  assert.equal(count(merged.headers, 'vary'), 1);
  assert.equal(get(merged.headers, 'vary'), 'Cookie, Accept-Encoding');
  for (const vary of ['accept-encoding', 'Cookie, Accept-Encoding', '*', 'Origin,ACCEPT-ENCODING']) {
    const d = decideHead(policy(), GZIP, 200, ['Content-Type', 'text/html', 'Vary', vary]);
    assert.equal(d.coding, 'gzip', vary);
    assert.deepEqual(
      d.headers.filter((_, i) => i % 2 === 0 && d.headers[i]!.toLowerCase() === 'vary').length,
      1,
      vary,
    );
    assert.equal(get(d.headers, 'vary'), vary);
    const plain = decideHead(policy(), NONE, 200, ['Content-Type', 'text/html', 'Vary', vary]);
    assert.equal(get(plain.headers, 'vary'), vary);
  }
});

test('never compressed, and no Vary: 1xx, 204, 206, Content-Range, Content-Encoding, no-transform, other types, short bodies', () => {
  const cases: [number, string[]][] = [
    [101, ['Upgrade', 'websocket']],
    [103, ['Link', '</a.css>; rel=preload']],
    [204, ['Content-Type', 'text/html']],
    [206, ['Content-Type', 'text/html', 'Content-Range', 'bytes 0-9/100']],
    [200, ['Content-Type', 'text/html', 'Content-Range', 'bytes 0-9/100']],
    [200, ['Content-Type', 'text/html', 'Content-Encoding', 'gzip']],
    [200, ['Content-Type', 'text/html', 'Content-Encoding', 'br']],
    [200, ['Content-Type', 'text/html', 'Cache-Control', 'public, no-transform']],
    [200, ['Content-Type', 'text/html', 'Cache-Control', 'max-age=60', 'Cache-Control', 'No-Transform']],
    [200, ['Content-Type', 'image/png']],
    [200, ['Content-Type', 'application/octet-stream']],
    [200, []],
    [200, ['Content-Type', 'text/html', 'Content-Length', '511']],
  ];
  for (const [status, headers] of cases) {
    const d = decideHead(policy(), GZIP, status, headers);
    assert.equal(d.coding, null, `${status} ${headers}`);
    assert.equal(d.headers, headers, `${status} ${headers}: the same head`);
  }
  // min_length: the length itself is enough; an unknown length counts as large.
  assert.equal(decideHead(policy(), GZIP, 200, ['Content-Type', 'text/html', 'Content-Length', '512']).coding, 'gzip');
  assert.equal(decideHead(policy(), GZIP, 200, ['Content-Type', 'text/html']).coding, 'gzip');
  assert.equal(decideHead(policy({ minLength: 0 }), GZIP, 200, ['Content-Type', 'text/html', 'Content-Length', '0']).coding, 'gzip');
  // Any other status with a body: error pages are compressed too.
  for (const status of [201, 301, 403, 404, 500, 502]) assert.equal(decideHead(policy(), GZIP, status, ['Content-Type', 'text/html']).coding, 'gzip', String(status));
});

test('types: the default list, matched on the media type without parameters', () => {
  const p = policy();
  for (const t of ['text/html', 'TEXT/CSS; charset=utf-8', 'text/event-stream', 'application/json', 'application/javascript', 'image/svg+xml', 'application/wasm', 'application/xml', 'application/ld+json', 'application/problem+json'])
    assert.equal(decideHead(p, GZIP, 200, ['Content-Type', t]).coding, 'gzip', t);
  for (const t of ['image/jpeg', 'video/mp4', 'application/zip', 'font/woff2', 'application/jsonx', 'application/pdf'])
    assert.equal(decideHead(p, GZIP, 200, ['Content-Type', t]).coding, null, t);
  const custom = compileCompress(compressOptions.parse({ types: ['application/vnd.*', 'TEXT/HTML'] }))!;
  assert.equal(decideHead(custom, GZIP, 200, ['Content-Type', 'application/vnd.api+json']).coding, 'gzip');
  assert.equal(decideHead(custom, GZIP, 200, ['Content-Type', 'text/html;charset=utf-8']).coding, 'gzip');
  assert.equal(decideHead(custom, GZIP, 200, ['Content-Type', 'text/css']).coding, null);
  const any = compileCompress(compressOptions.parse({ types: ['*'] }))!;
  assert.equal(decideHead(any, GZIP, 200, ['Content-Type', 'image/png']).coding, 'gzip');
});

test('server-sent events and X-Accel-Buffering: no are flushed per write', () => {
  assert.equal(decideHead(policy(), GZIP, 200, ['Content-Type', 'text/event-stream']).flushEachWrite, true);
  assert.equal(decideHead(policy(), GZIP, 200, ['Content-Type', 'text/plain', 'X-Accel-Buffering', 'no']).flushEachWrite, true);
  assert.equal(decideHead(policy(), GZIP, 200, ['Content-Type', 'text/plain', 'X-Accel-Buffering', 'yes']).flushEachWrite, false);
});

test('a 304 carries the Vary and the weak ETag its 200 would, when this client takes a coding', () => {
  const head = ['ETag', '"v1"', 'Cache-Control', 'max-age=60'];
  const d = decideHead(policy(), GZIP, 304, head);
  assert.equal(d.coding, null);
  assert.deepEqual(d.headers, ['ETag', 'W/"v1"', 'Cache-Control', 'max-age=60', 'Vary', 'Accept-Encoding']);
  assert.equal(decideHead(policy(), GZIP, 304, ['ETag', 'W/"v1"']).headers[1], 'W/"v1"');
  assert.equal(decideHead(policy(), NONE, 304, head).headers, head);
});

test('gzip_proxied: requests with Via, by nginx’s rules', () => {
  const via = (flags: string[], head: string[], auth = false) => {
    let bits = 0;
    for (const f of flags) bits |= PROXIED[f as keyof typeof PROXIED];
    return decideHead(policy({ proxied: bits }), { coding: 'gzip', via: true, auth }, 200, ['Content-Type', 'text/html', ...head]).coding;
  };
  assert.equal(via(['off'], []), null);
  assert.equal(via(['any'], []), 'gzip');
  assert.equal(via(['auth'], [], true), 'gzip');
  assert.equal(via(['expired'], ['Expires', 'Thu, 01 Jan 1970 00:00:00 GMT']), 'gzip');
  assert.equal(via(['expired'], ['Expires', 'Thu, 01 Jan 2099 00:00:00 GMT']), null);
  assert.equal(via(['no-cache'], ['Expires', 'Thu, 01 Jan 1970 00:00:00 GMT']), null);
  assert.equal(via(['no-cache'], ['Cache-Control', 'no-cache']), 'gzip');
  assert.equal(via(['no-cache'], ['Cache-Control', 'no-store']), null);
  assert.equal(via(['no-store', 'private'], ['Cache-Control', 'private, max-age=0']), 'gzip');
  assert.equal(via(['no_last_modified'], ['Last-Modified', 'Thu, 01 Jan 1970 00:00:00 GMT']), null);
  assert.equal(via(['no_last_modified'], []), 'gzip');
  assert.equal(via(['no_etag'], ['ETag', '"x"']), null);
  assert.equal(via(['no_etag'], []), 'gzip');
  // The Vary is there either way: the answer depended on Accept-Encoding.
  const d = decideHead(policy({ proxied: PROXIED.off }), { coding: 'gzip', via: true, auth: false }, 200, ['Content-Type', 'text/html']);
  assert.equal(get(d.headers, 'vary'), 'Accept-Encoding');
});

test('compress config: true means the defaults; codings this node lacks are skipped; gzip_disable goes through the regex policy', () => {
  const p = compileCompress(true)!;
  assert.deepEqual(p.level, { gzip: 5, br: 4, zstd: 3 });
  assert.equal(p.minLength, 512);
  assert.equal(compileCompress(false), null);
  assert.equal(compileCompress(undefined), null);
  const zstdOnly = compileCompress(compressOptions.parse({ codings: ['zstd'] }));
  if (AVAILABLE_CODINGS.includes('zstd')) assert.notEqual(zstdOnly, null);
  else assert.equal(zstdOnly, null);
  const ua = compileCompress(compressOptions.parse({ disable: ['MSIE [4-6]\\.'] }))!;
  assert.equal(ua.disabledFor!('Mozilla/4.0 (compatible; msie 6.0; Windows NT 5.1)'), true);
  assert.equal(ua.disabledFor!('Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0'), false);
  assert.throws(() => compressOptions.parse({ disable: ['(a|a)*\\1'] }));
  assert.throws(() => compressOptions.parse({ codings: ['gzip', 'gzip'] }));
  assert.throws(() => compressOptions.parse({ codings: ['deflate'] }));
  assert.throws(() => compressOptions.parse({ level: { gzip: 10 } }));
  assert.throws(() => compressOptions.parse({ types: ['not a type'] }));
  assert.equal(compressOptions.parse({ min_length: '1k' }).min_length, 1024);
});
