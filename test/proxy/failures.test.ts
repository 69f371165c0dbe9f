/**
 * When things go wrong: upstream refusing, silent or stalling (502/504 with one error-log
 * record), clients going away (the upstream request is released), malformed or hostile
 * requests (4xx, connection closed), and the keep-alive race with upstreams that close idle
 * connections (retried, not a 502). Portico must keep serving after each; an error escaping
 * would crash this test process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startPortico, proxyTo, type TestPortico } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import {
  RawClient,

  closedPort,
  delay,
  eventually,
  http,
  json,
  one,
  onRequestHeads,
  rawRequest,
  startRawUpstream,

} from './support.js';

const errorRecords = (p: TestPortico) => p.errors.filter((e) => e.level === 50);

/** Portico still answers a plain proxied request after whatever the test did. */
async function stillServes(portico: TestPortico, path = '/healthy'): Promise<void> {
  const res = await http(`${portico.url}${path}`);
  assert.equal(res.status, 200);
}

test('upstream refusing connections: 502 and one error-log record naming route, upstream and cause', async (t) => {
  const port = await closedPort();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/app/', ...proxyTo(`127.0.0.1:${port}`) }] }] });
  t.after(() => portico.close());

  const res = await http(`${portico.url}/app/x?y=1`);
  assert.equal(res.status, 502);
  assert.equal(res.body.toString(), '502 Bad Gateway\n');
  await eventually(() => errorRecords(portico).length >= 1, 'the error-log record');
  const records = errorRecords(portico);
  assert.equal(records.length, 1, JSON.stringify(records));
  const rec = records[0]!;
  assert.equal(rec.route, 'servers[0].routes[0] /app/');
  assert.equal(rec.upstream, `127.0.0.1:${port}`);
  assert.equal(rec.status, 502);
  assert.equal(rec.uri, '/app/x?y=1');
  assert.match(String(rec.msg), /connection refused/);
});

test('upstream that never answers: 504 after read_timeout, and its request is released', async (t) => {
  let upstreamReq: IncomingMessage | undefined;
  const upstream = await startUpstream((req) => {
    upstreamReq = req; // never answered
  });
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address, { read_timeout: '300ms' }) }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await http(`${portico.url}/slow`);
  assert.equal(res.status, 504);
  assert.equal(res.body.toString(), '504 Gateway Timeout\n');
  const records = errorRecords(portico);
  assert.equal(records.length, 1, JSON.stringify(records));
  assert.equal(records[0]!.status, 504);
  assert.match(String(records[0]!.msg), /read_timeout/);
  assert.ok(upstreamReq);
  await eventually(() => upstreamReq!.socket.destroyed, 'the upstream connection to be closed');
});

test('upstream body stalling longer than read_timeout: the client connection is cut, not completed', async (t) => {
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('only part of it'); // and nothing more
  });
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address, { read_timeout: '300ms' }) }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const rest = await client.untilClosed(10_000);
  const text = rest.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.match(text, /\r\n\r\nonly part of it$/);
  assert.equal(errorRecords(portico).length, 1);
  assert.match(String(errorRecords(portico)[0]!.msg), /stalled/);
});

/** An upstream that starts a response and then holds it open, reporting its request's fate. */
async function holdingUpstream(sendHead: boolean) {
  const state = { received: 0, socketClosed: 0, resClosedUnfinished: 0 };
  const upstream = await startUpstream((req, res) => {
    if (req.url === '/healthy') return void res.end('ok');
    state.received++;
    req.socket.once('close', () => state.socketClosed++);
    res.once('close', () => {
      if (!res.writableFinished) state.resClosedUnfinished++;
    });
    if (sendHead) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('x'.repeat(1000));
    }
  });
  return { upstream, state };
}

test('client aborting mid-response: the upstream request is aborted and its socket released', async (t) => {
  const { upstream, state } = await holdingUpstream(true);
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const client = await RawClient.connect(portico.port);
  client.write('GET /stream HTTP/1.1\r\nHost: a\r\n\r\n');
  await eventually(() => client.buf.includes('x'.repeat(1000)), 'the first body bytes');
  client.destroy();
  await eventually(() => state.resClosedUnfinished === 1 && state.socketClosed === 1, 'the upstream request to close');
  await stillServes(portico);
  assert.equal(state.received, 1);
});

test('client aborting before the response: the upstream request is aborted and its socket released', async (t) => {
  const { upstream, state } = await holdingUpstream(false);
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const client = await RawClient.connect(portico.port);
  client.write('GET /wait HTTP/1.1\r\nHost: a\r\n\r\n');
  await eventually(() => state.received === 1, 'the upstream to get the request');
  client.destroy();
  await eventually(() => state.resClosedUnfinished === 1 && state.socketClosed === 1, 'the upstream request to close');
  await stillServes(portico);
  assert.deepEqual(errorRecords(portico), [], 'a client abort is not an upstream failure');
});

test('client aborting mid-upload (buffering: false): the upstream request is aborted', async (t) => {
  let upstreamReq: IncomingMessage | undefined;
  let aborted = false;
  const server = createServer((req, res) => {
    if (req.url === '/healthy') return void res.end('ok');
    upstreamReq = req;
    req.on('data', () => {});
    req.once('aborted', () => (aborted = true));
    req.once('end', () => res.end('complete?'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(address, { buffering: false }) }] }] });
  t.after(async () => {
    await portico.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const client = await RawClient.connect(portico.port);
  client.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n' + 'y'.repeat(5000));
  await eventually(() => upstreamReq !== undefined, 'the upstream to get the request');
  client.destroy();
  await eventually(() => aborted && upstreamReq!.socket.destroyed, 'the upstream request to be aborted');
  await stillServes(portico);
});

test('a garbage request: 400 and the connection closed', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  for (const garbage of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: a\r\nBad Header Name: x\r\n\r\n', 'GET / HTTP/9.9\r\nHost: a\r\n\r\n']) {
    const client = await RawClient.connect(portico.port);
    client.write(garbage);
    const res = await client.response();
    assert.equal(res.status, 400, JSON.stringify(garbage));
    assert.equal(one(res, 'connection'), 'close');
    await client.untilClosed();
  }
  assert.equal(upstream.seen.length, 0);
  await stillServes(portico);
});

test('request smuggling attempts: 400 (501 for an unknown transfer coding), connection closed, nothing reaches the upstream', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n';
  const attempts = [
    // CL.TE: a front end trusting Content-Length and a back end trusting chunked disagree.
    `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${smuggled}0\r\n\r\n`,
    // Two different lengths.
    `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n${smuggled}`,
  ];
  // An obfuscated Transfer-Encoding: a coding Portico does not know, 501 as from nginx (RFC 9112 §6.1).
  const unknownCoding = `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`;
  for (const attempt of [...attempts, unknownCoding]) {
    const client = await RawClient.connect(portico.port);
    client.write(attempt);
    const res = await client.response();
    assert.equal(res.status, attempt === unknownCoding ? 501 : 400, JSON.stringify(attempt));
    await client.untilClosed();
    assert.ok(!client.buf.includes('HTTP/1.1'), 'no second response on the connection');
  }
  assert.deepEqual(upstream.seen, []);
  await stillServes(portico);
});

test('framing and version a proxy must not pass on: 501 for a transfer coding other than chunked, 400 for Transfer-Encoding in HTTP/1.0, 505 for HTTP/2.0 or 0.9 on an HTTP/1 port, 400 for an invalid Host or a CONNECT', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const cases: [string, number][] = [
    // node's parser de-chunks this and the gzip bytes would reach the app as a plain body (nginx: 501).
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 501],
    // RFC 9112 §6.1: the framing of an HTTP/1.0 message with Transfer-Encoding is faulty.
    ['POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 400],
    // Taken by node's parser, and Portico's HTTP/2 code paths key on the major version.
    ['GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505],
    ['GET /\r\n\r\n', 505],
    // RFC 9112 §3.2: a Host that is not host[:port] is a 400.
    ['GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: user@a\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', 400],
    // A tunnel to anywhere is not proxied (nginx: 400); node alone would drop the connection unanswered.
    ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 400],
  ];
  for (const [raw, status] of cases) {
    const client = await RawClient.connect(portico.port);
    client.write(raw);
    const res = await client.response();
    assert.equal(res.status, status, JSON.stringify(raw));
    await client.untilClosed();
  }
  assert.deepEqual(upstream.seen, []);
  assert.deepEqual(errorRecords(portico), [], 'refused requests are not handler failures');
  // Valid forms still pass: chunked with OWS around it, an IPv6 literal with a port, a port alone.
  for (const raw of ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tChunked \r\n\r\n3\r\nabc\r\n0\r\n\r\n', 'GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', 'GET / HTTP/1.1\r\nHost: a.example:80\r\n\r\n']) {
    const client = await RawClient.connect(portico.port);
    client.write(raw);
    assert.equal((await client.response()).status, 200, JSON.stringify(raw));
    client.destroy();
  }
  await stillServes(portico);
});

test('a malformed chunked body while proxying (buffering: false): 400, connection closed, upstream request aborted', async (t) => {
  let started = false;
  let aborted = false;
  const upstream = await startUpstream((_req, res) => res.end('complete'));
  upstream.server.prependListener('request', (req: IncomingMessage) => {
    started = true;
    req.once('aborted', () => (aborted = true));
  });
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address, { buffering: false }) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const client = await RawClient.connect(portico.port);
  client.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  await eventually(() => started, 'the request to be on its way upstream');
  client.write('ZZZ\r\nnot a chunk\r\n\r\n');
  const res = await client.response();
  assert.equal(res.status, 400);
  await client.untilClosed();
  assert.ok(!client.buf.includes('HTTP/1.1'), 'no second response on the connection');
  await eventually(() => aborted, 'the upstream request to be aborted');
  assert.deepEqual(errorRecords(portico), [], 'a client error is not an upstream failure');
  await stillServes(portico);
});

test('headers over 16 KiB: 431 and the connection closed', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const client = await RawClient.connect(portico.port);
  client.write(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(17 * 1024)}\r\n\r\n`);
  const res = await client.response();
  assert.equal(res.status, 431);
  await client.untilClosed();
  assert.equal(upstream.seen.length, 0);
  // Just under the limit still works.
  const ok = await http(`${portico.url}/`, { headers: { 'X-Big': 'b'.repeat(15 * 1024) } });
  assert.equal(ok.status, 200);
});

test('two Host headers: 400, connection closed, nothing reaches the upstream', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const client = await RawClient.connect(portico.port);
  client.write('GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n');
  const res = await client.response();
  assert.equal(res.status, 400);
  assert.equal(one(res, 'connection'), 'close');
  await client.untilClosed();
  assert.equal(upstream.seen.length, 0);
});

test('path traversal above the root: 400, nothing reaches the upstream', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  for (const path of ['/../x', '/a/../../x', '/%2e%2e/x', '/a/%2E%2E/%2e%2e/etc/passwd', '/bad%zzencoding', '/nul%00byte']) {
    const res = await rawRequest(portico.port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.equal(res.status, 400, path);
  }
  assert.equal(upstream.seen.length, 0);
  // Dot segments that stay inside the root are resolved, not refused.
  const ok = await rawRequest(portico.port, 'GET /a/../b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(ok.status, 200);
});

test('keep-alive race: an upstream with a 50ms keep-alive hit again after 100ms idle is not a 502', async (t) => {
  const upstream = await startUpstream();
  upstream.server.keepAliveTimeout = 50;
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  for (let i = 0; i < 4; i++) {
    const res = await http(`${portico.url}/ka/${i}`);
    assert.equal(res.status, 200, `request ${i}`);
    assert.equal(json(res).url, `/ka/${i}`);
    await delay(100);
  }
  assert.deepEqual(errorRecords(portico), []);
});

/**
 * The race made deterministic: the upstream answers the first request of each connection and
 * drops the connection when a second one arrives on it, as if its idle timer had fired just
 * as the request was sent.
 */
async function oneRequestPerConnection(mode: 'destroy' | 'reset') {
  const state = { served: 0, dropped: [] as string[] };
  const upstream = await startRawUpstream((socket) => {
    onRequestHeads(socket, (head, index) => {
      const line = head.slice(0, head.indexOf('\r\n'));
      if (index === 0) {
        state.served++;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${line.length}\r\n\r\n${line}`);
        return;
      }
      state.dropped.push(line);
      if (mode === 'reset') socket.resetAndDestroy();
      else socket.destroy();
    });
  });
  return { upstream, state };
}

for (const mode of ['destroy', 'reset'] as const) {
  test(`keep-alive race (${mode}): a request sent on a connection the upstream drops is retried on a new one`, async (t) => {
    const { upstream, state } = await oneRequestPerConnection(mode);
    const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
    t.after(() => Promise.all([portico.close(), upstream.close()]));

    for (const method of ['GET', 'HEAD', 'GET']) {
      const res = await http(`${portico.url}/r`, { method });
      assert.equal(res.status, 200, method);
      assert.equal(res.body.toString(), method === 'HEAD' ? '' : `${method} /r HTTP/1.1`);
    }
    assert.equal(state.served, 3);
    assert.ok(state.dropped.length >= 1, 'the race happened');
    assert.deepEqual(errorRecords(portico), []);
  });
}

test('a failure that is not a stale connection still gives 502: every connection dropped', async (t) => {
  const attempts: string[] = [];
  const upstream = await startRawUpstream((socket) => {
    onRequestHeads(socket, (head) => {
      attempts.push(head.slice(0, head.indexOf('\r\n')));
      socket.destroy();
    });
  });
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await http(`${portico.url}/down`);
  assert.equal(res.status, 502);
  assert.ok(attempts.length >= 1 && attempts.length <= 3, `bounded retries, got ${attempts.length}`);
  assert.equal(errorRecords(portico).length, 1);
  assert.match(String(errorRecords(portico)[0]!.msg), /closed by upstream/);
});

test('a non-idempotent request the upstream may have processed is never replayed', async (t) => {
  const attempts: string[] = [];
  const upstream = await startRawUpstream((socket) => {
    onRequestHeads(socket, (head) => {
      attempts.push(head.slice(0, head.indexOf('\r\n')));
      socket.destroy(); // crashed while handling it
    });
  });
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  for (const method of ['POST', 'PATCH']) {
    attempts.length = 0;
    const res = await http(`${portico.url}/charge`, { method, headers: { 'Content-Length': '0' } });
    assert.equal(res.status, 502, method);
    assert.deepEqual(attempts, [`${method} /charge HTTP/1.1`]);
  }
});

test('a bodiless POST on a reused connection the upstream drops is not replayed: 502', async (t) => {
  // Indistinguishable from the keep-alive race, but the upstream may have run it.
  const { upstream, state } = await oneRequestPerConnection('destroy');
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  assert.equal((await http(`${portico.url}/first`)).status, 200);
  const res = await http(`${portico.url}/charge`, { method: 'POST', headers: { 'Content-Length': '0' } });
  assert.equal(res.status, 502);
  assert.deepEqual(state.dropped, ['POST /charge HTTP/1.1']);
  assert.equal(state.served, 1);
});

test('a POST with a body on a connection dropped mid-request is not replayed: 502', async (t) => {
  const { upstream, state } = await oneRequestPerConnection('destroy');
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  assert.equal((await http(`${portico.url}/first`)).status, 200);
  const res = await http(`${portico.url}/form`, { method: 'POST', body: 'a=1' });
  assert.equal(res.status, 502);
  assert.deepEqual(state.dropped, ['POST /form HTTP/1.1']);
  assert.equal(state.served, 1);
});

test('an upstream speaking garbage: 502', async (t) => {
  const upstream = await startRawUpstream((socket) => {
    onRequestHeads(socket, () => socket.end('SPDY/3 999 What\r\n\r\n'));
  });
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await http(`${portico.url}/`);
  assert.equal(res.status, 502);
  assert.equal(errorRecords(portico).length, 1);
});

test('an upstream sending a header value node refuses to relay: 502, not a crash', async (t) => {
  const upstream = await startRawUpstream((socket) => {
    onRequestHeads(socket, () => socket.write('HTTP/1.1 200 OK\r\nX-Bad: caf\xe9\x01\r\nContent-Length: 2\r\n\r\nok', 'latin1'));
  });
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await http(`${portico.url}/`);
  assert.equal(res.status, 502);
  assert.equal(errorRecords(portico).length, 1);
});

