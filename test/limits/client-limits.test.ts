/**
 * Limits toward clients over real sockets: body size (413 before reading, or as soon as a
 * chunked body exceeds it), header count (431), URI length (414), method sanity (400/501),
 * and the per-read timeouts: header (408, slowloris), body (408), send, keep-alive.
 * Timeouts are configured short; assertions are on outcomes, never on durations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { RawClient, delay, eventually, json, one } from '../proxy/support.js';
import { tempFiles } from '../../src/buffering/temp-file.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';

async function setup(route: Record<string, unknown> = {}, top: Partial<PorticoConfigInput> = {}, proxyExtra: Record<string, unknown> = {}) {
  const upstream = await startUpstream();
  const portico = await startPortico({ ...top, servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address, proxyExtra), ...route }] }] });
  return { upstream, portico, close: () => Promise.all([portico.close(), upstream.close()]) };
}

test('Content-Length over max_body_size: 413 before reading, upstream never contacted, connection still usable', async (t) => {
  const { portico, upstream, close } = await setup({ max_body_size: '4KiB' });
  t.after(close);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n${'x'.repeat(5000)}`);
  const res = await client.response();
  assert.equal(res.status, 413);
  // The body was read and dropped, so the connection carries the next request.
  client.write('GET /next HTTP/1.1\r\nHost: a\r\n\r\n');
  const next = await client.response();
  assert.equal(next.status, 200);
  assert.deepEqual(upstream.seen.map((s) => s.url), ['/next']);
  // Exactly at the limit is fine.
  client.write(`POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\n\r\n${'x'.repeat(4096)}`);
  assert.equal((await client.response()).status, 200);
});

test('Expect: 100-continue over the limit: 413 without a 100, so the client never sends the body', async (t) => {
  const { portico, upstream, close } = await setup({ max_body_size: '1KiB' });
  t.after(close);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 12582912\r\nExpect: 100-continue\r\n\r\n');
  const res = await client.response();
  assert.equal(res.status, 413);
  assert.equal(one(res, 'connection'), 'close');
  await client.untilClosed();
  assert.ok(!client.buf.toString('latin1').includes('100 Continue'));
  assert.equal(upstream.seen.length, 0);
});

for (const buffering of [true, false]) {
  test(`chunked body exceeding max_body_size (buffering ${buffering}): 413 as soon as it is exceeded`, async (t) => {
    const { portico, upstream, close } = await setup({ max_body_size: '10KiB' }, {}, { buffering });
    t.after(close);
    const client = await RawClient.connect(portico.port);
    t.after(() => client.destroy());
    client.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    // 12 KiB in 1 KiB chunks and no terminating chunk: the answer must not wait for the end.
    for (let i = 0; i < 12; i++) client.write(`400\r\n${'z'.repeat(1024)}\r\n`);
    const res = await client.response();
    assert.equal(res.status, 413);
    if (buffering) assert.equal(upstream.seen.length, 0, 'a buffered body never reaches the upstream');
  });
}

test('max_body_size 0: no limit', async (t) => {
  const { portico, close } = await setup({ max_body_size: 0 }, { client: { max_body_size: '1KiB' } });
  t.after(close);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(100000)}`);
  const res = await client.response();
  assert.equal(res.status, 200);
  assert.equal(json<{ bodyLength: number }>(res).bodyLength, 100000);
});

test('client.max_body_size is the default of every route', async (t) => {
  const { portico, close } = await setup({}, { client: { max_body_size: '1KiB' } });
  t.after(close);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n${'x'.repeat(2000)}`);
  assert.equal((await client.response()).status, 413);
});

test('header count over max_headers: 431; URI over max_uri_length: 414; both close the connection', async (t) => {
  const { portico, upstream, close } = await setup({}, { client: { max_headers: 20, max_uri_length: 100 } });
  t.after(close);
  const headers = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: v\r\n`).join('');
  const cases: [string, number][] = [
    [`GET / HTTP/1.1\r\nHost: a\r\n${headers(19)}\r\n`, 200], // 20 fields with Host
    [`GET / HTTP/1.1\r\nHost: a\r\n${headers(20)}\r\n`, 431],
    [`GET /${'u'.repeat(99)} HTTP/1.1\r\nHost: a\r\n\r\n`, 200], // 100 characters
    [`GET /${'u'.repeat(100)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414],
  ];
  for (const [request, status] of cases) {
    const client = await RawClient.connect(portico.port);
    client.write(request);
    const res = await client.response();
    assert.equal(res.status, status, request.slice(0, 40));
    if (status !== 200) {
      assert.equal(one(res, 'connection'), 'close');
      await client.untilClosed();
    }
    client.destroy();
  }
  assert.equal(upstream.seen.length, 2);
});

test('request line sanity: an unknown method token is 501, a malformed one 400', async (t) => {
  const { portico, upstream, close } = await setup();
  t.after(close);
  for (const [line, status] of [
    ['BREW / HTTP/1.1', 501],
    ['G@T / HTTP/1.1', 400],
    ['GET', 400],
  ] as const) {
    const client = await RawClient.connect(portico.port);
    client.write(`${line}\r\nHost: a\r\n\r\n`);
    const res = await client.response();
    assert.equal(res.status, status, line);
    await client.untilClosed();
    client.destroy();
  }
  assert.equal(upstream.seen.length, 0);
});

test('header_timeout: a client trickling its head (slowloris) gets 408 and is disconnected', async (t) => {
  const { portico, upstream, close } = await setup({}, { client: { header_timeout: '1s' } });
  t.after(close);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  const head = 'GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ' + 'abcdefghij'.repeat(100);
  let stop = false;
  void (async () => {
    for (let i = 0; i < head.length && !stop && !client.ended; i++) {
      client.write(head[i]!);
      await delay(100);
    }
  })();
  const res = await client.response({ ms: 15_000 });
  stop = true;
  assert.equal(res.status, 408);
  await client.untilClosed();
  assert.equal(upstream.seen.length, 0);
});

test('body_timeout is between reads: a slow steady upload succeeds, a stalled one gets 408', async (t) => {
  const { portico, upstream, close } = await setup({}, { client: { body_timeout: '1s' } });
  t.after(close);
  // 15 bytes, one every 200ms: three seconds in all, three times the timeout.
  const steady = await RawClient.connect(portico.port);
  t.after(() => steady.destroy());
  steady.write('POST /steady HTTP/1.1\r\nHost: a\r\nContent-Length: 15\r\n\r\n');
  for (let i = 0; i < 15; i++) {
    await delay(200);
    steady.write('s');
  }
  const ok = await steady.response();
  assert.equal(ok.status, 200);
  assert.equal(json<{ bodyLength: number }>(ok).bodyLength, 15);

  const stalled = await RawClient.connect(portico.port);
  t.after(() => stalled.destroy());
  stalled.write('POST /stalled HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly a part');
  const res = await stalled.response({ ms: 15_000 });
  assert.equal(res.status, 408);
  await stalled.untilClosed();
  assert.deepEqual(upstream.seen.map((s) => s.url), ['/steady'], 'the stalled request never reached the upstream');
});

test('send_timeout: a client that stops reading a buffered response is disconnected and its temp file closed', async (t) => {
  const SIZE = 32 * 1024 * 1024;
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Length': SIZE });
    const piece = Buffer.alloc(1024 * 1024, 7);
    let sent = 0;
    const pump = () => {
      while (sent < SIZE) {
        sent += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const portico = await startPortico({ client: { send_timeout: '1s' }, servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.socket.pause(); // reads nothing
  client.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
  await eventually(() => tempFiles.open > 0, 'the response to spill to a temp file', 10_000);
  await eventually(() => tempFiles.open === 0, 'the send timeout to drop the response and its temp file', 15_000);
  client.socket.resume();
  await client.untilClosed(15_000);
  assert.ok(client.buf.length < SIZE, `the client got a truncated response (${client.buf.length} bytes)`);
});

test('keepalive_timeout: an idle keep-alive connection is closed', async (t) => {
  const { portico, close } = await setup({}, { client: { keepalive_timeout: '300ms' } });
  t.after(close);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await client.response()).status, 200);
  await client.untilClosed(10_000);
});
