/**
 * Stale entries (nginx proxy_cache_use_stale, proxy_cache_background_update,
 * proxy_cache_revalidate; RFC 5861 stale-while-revalidate and stale-if-error; RFC 9111
 * must-revalidate) through real sockets. Entries are made stale by a one-second max-age and a
 * wait past it: nothing here asserts a duration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerWith, startCached, startOrigin, status, text } from './support.js';
import { closedPort, delay, eventually } from '../proxy/support.js';

test('use_stale error: the upstream gone, the expired entry is served (STALE); without it, 502', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=1' }));
  const port = origin.port;
  const withStale = await startCached(origin.address, { use_stale: ['error', 'timeout'] });
  const without = await startCached(origin.address);
  try {
    await withStale.get('/s');
    await without.get('/s');
    await origin.close();
    await delay(1100);
    const r = await withStale.get('/s');
    assert.equal(r.status, 200);
    assert.equal(status(r), 'STALE');
    assert.equal(text(r), '/s #1');
    const bare = await without.get('/s');
    assert.equal(bare.status, 502);
    assert.equal(status(bare), 'EXPIRED', 'the error page says what the cache did ($upstream_cache_status)');
    assert.ok(port > 0);
  } finally {
    await withStale.close();
    await without.close();
  }
});

test('use_stale http_500 / http_503: an upstream 5xx is replaced by the stale entry; a status not listed passes', async () => {
  let fail = 0;
  const origin = await startOrigin((req, res, n) => answerWith({ 'Cache-Control': 'max-age=1' }, n === 1 ? 200 : fail)(req, res, n));
  const p = await startCached(origin.address, { use_stale: ['http_500', 'http_503'] });
  try {
    await p.get('/u');
    await delay(1100);
    fail = 503;
    const r = await p.get('/u');
    assert.equal(r.status, 200);
    assert.equal(status(r), 'STALE');
    assert.equal(text(r), '/u #1');
    fail = 502;
    const passed = await p.get('/u');
    assert.equal(passed.status, 502);
    assert.equal(status(passed), 'EXPIRED');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('stale-if-error from the upstream serves the stale entry on an error without use_stale; must-revalidate never serves stale', async () => {
  let down = false;
  const origin = await startOrigin((req, res, n) => {
    if (down) return answerWith({}, 500)(req, res, n);
    answerWith({ 'Cache-Control': req.url === '/strict' ? 'max-age=1, must-revalidate, stale-if-error=60' : 'max-age=1, stale-if-error=60' })(req, res, n);
  });
  const p = await startCached(origin.address, { use_stale: ['http_500'] });
  try {
    await p.get('/sie');
    await p.get('/strict');
    await delay(1100);
    down = true;
    const r = await p.get('/sie');
    assert.equal(status(r), 'STALE');
    assert.equal(r.status, 200);
    const strict = await p.get('/strict');
    assert.equal(strict.status, 500, 'must-revalidate: a stale entry is never used (RFC 9111 §5.2.2.2)');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('background_update with use_stale updating: the client gets STALE at once, the entry is updated behind it', async () => {
  let release: (() => void) | null = null;
  const origin = await startOrigin((req, res, n) => {
    const send = () => answerWith({ 'Cache-Control': 'max-age=1' })(req, res, n);
    if (n === 1) return send();
    release = send; // the update waits until the test lets it go
  });
  const p = await startCached(origin.address, { use_stale: ['updating'], background_update: true });
  try {
    await p.get('/b');
    await delay(1100);
    const stale = await p.get('/b');
    assert.equal(status(stale), 'STALE');
    assert.equal(text(stale), '/b #1');
    await eventually(() => release !== null, 'the background request upstream');
    const during = await p.get('/b');
    assert.equal(status(during), 'UPDATING');
    assert.equal(text(during), '/b #1');
    release!();
    await eventually(() => origin.seen.length === 2, 'update');
    let after = await p.get('/b');
    for (let i = 0; i < 50 && status(after) !== 'HIT'; i++) {
      await delay(20);
      after = await p.get('/b');
    }
    assert.equal(status(after), 'HIT');
    assert.equal(text(after), '/b #2');
    assert.equal(origin.seen.length, 2, 'one background request');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('stale-while-revalidate from the upstream works as use_stale updating (with background_update)', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=1, stale-while-revalidate=60' }));
  const p = await startCached(origin.address, { background_update: true });
  try {
    await p.get('/w');
    await delay(1100);
    const r = await p.get('/w');
    assert.equal(status(r), 'STALE');
    assert.equal(text(r), '/w #1');
    await eventually(() => origin.seen.length === 2, 'the background update');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('without use_stale updating, requests for an entry being updated go upstream too', async () => {
  const pending: (() => void)[] = [];
  const origin = await startOrigin((req, res, n) => {
    const send = () => answerWith({ 'Cache-Control': 'max-age=1' })(req, res, n);
    if (n === 1) return send();
    pending.push(send);
  });
  const p = await startCached(origin.address);
  try {
    await p.get('/x');
    await delay(1100);
    const first = p.get('/x');
    await eventually(() => pending.length === 1, 'the first update');
    const second = p.get('/x');
    await eventually(() => pending.length === 2, 'the second request upstream');
    for (const send of pending) send();
    assert.equal(status(await first), 'EXPIRED');
    assert.equal(status(await second), 'EXPIRED');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('revalidate: an expired entry is asked for with If-None-Match / If-Modified-Since; a 304 makes it fresh again (REVALIDATED)', async () => {
  const origin = await startOrigin((req, res, n) => {
    if (req.headers['if-none-match'] === '"e1"') {
      res.writeHead(304, { 'Cache-Control': 'max-age=60', ETag: '"e1"' });
      return res.end();
    }
    answerWith({ 'Cache-Control': 'max-age=1', ETag: '"e1"', 'Last-Modified': 'Tue, 01 Jan 2030 00:00:00 GMT' })(req, res, n);
  });
  const p = await startCached(origin.address, { revalidate: true });
  try {
    await p.get('/rv');
    await delay(1100);
    const r = await p.get('/rv');
    assert.equal(r.status, 200);
    assert.equal(status(r), 'REVALIDATED');
    assert.equal(text(r), '/rv #1');
    const sent = origin.seen[1]!;
    assert.equal(sent.headers['if-none-match'], '"e1"');
    assert.equal(sent.headers['if-modified-since'], 'Tue, 01 Jan 2030 00:00:00 GMT');
    assert.equal(status(await p.get('/rv')), 'HIT', 'fresh for the 304\'s max-age');
    assert.equal(origin.seen.length, 2);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('use_stale with no server at all (a closed port): the stale entry, for as long as it is kept', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=1' }));
  const p = await startCached(origin.address, { use_stale: ['error'] });
  try {
    await p.get('/gone');
    await origin.close();
    await delay(1100);
    for (let i = 0; i < 3; i++) assert.equal(status(await p.get('/gone')), 'STALE');
    assert.ok((await closedPort()) > 0);
  } finally {
    await p.close();
  }
});
