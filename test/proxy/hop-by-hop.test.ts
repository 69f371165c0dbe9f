/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded, in either direction, nor are the
 * headers a Connection header names; end-to-end headers (several Set-Cookie) pass intact.
 * Raw sockets on both sides: node's http client and server would add or fold headers.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { RawClient, all, one, onRequestHeads, rawRequest, rawValues, startRawUpstream } from './support.js';

test('hop-by-hop request headers and Connection-named ones do not reach the upstream', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await rawRequest(
    portico.port,
    [
      'GET /hop HTTP/1.1',
      'Host: app.example',
      'Connection: close, X-Secret',
      'X-Secret: s3cret',
      'Keep-Alive: timeout=5',
      'TE: trailers',
      'Trailer: X-Checksum',
      'Upgrade: websocket',
      'Proxy-Authorization: Basic dXNlcjpwYXNz',
      'Proxy-Connection: keep-alive',
      'X-Kept: yes',
      '',
      '',
    ].join('\r\n'),
  );
  assert.equal(res.status, 200);
  const raw = upstream.seen[0]!.rawHeaders;
  for (const name of ['x-secret', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection'])
    assert.deepEqual(rawValues(raw, name), [], name);
  // The Connection header toward the upstream is the pool's own, never the client's.
  for (const v of rawValues(raw, 'connection')) assert.doesNotMatch(v, /x-secret|close/i);
  assert.deepEqual(rawValues(raw, 'x-kept'), ['yes']);
  assert.deepEqual(rawValues(raw, 'host'), ['app.example']);
});

test('several Connection headers and odd spacing nominate every listed header', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await rawRequest(
    portico.port,
    'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive ,x-one\r\nconnection: X-Two\r\nX-One: 1\r\nx-two: 2\r\nX-Three: 3\r\n\r\n',
  );
  assert.equal(res.status, 200);
  const raw = upstream.seen[0]!.rawHeaders;
  assert.deepEqual(rawValues(raw, 'x-one'), []);
  assert.deepEqual(rawValues(raw, 'x-two'), []);
  assert.deepEqual(rawValues(raw, 'x-three'), ['3']);
});

test('Connection cannot nominate away Host or the forwarding headers Portico writes', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await rawRequest(
    portico.port,
    'GET / HTTP/1.1\r\nHost: app.example\r\nConnection: Host, X-Forwarded-For, X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host\r\n\r\n',
  );
  assert.equal(res.status, 200);
  const raw = upstream.seen[0]!.rawHeaders;
  assert.deepEqual(rawValues(raw, 'host'), ['app.example']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(rawValues(raw, 'x-real-ip'), ['127.0.0.1']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-host'), ['app.example']);
});

/** A raw upstream answering every request with `response` (keeps the connection open). */
async function rawUpstream(response: string) {
  const requests: string[] = [];
  const upstream = await startRawUpstream((socket) =>
    onRequestHeads(socket, (head) => {
      requests.push(head);
      socket.write(response);
    }),
  );
  return { ...upstream, requests };
}

test('hop-by-hop response headers and Connection-named ones do not reach the client', async (t) => {
  const body = 'hello';
  const upstream = await rawUpstream(
    [
      'HTTP/1.1 200 OK',
      'Connection: X-Internal, keep-alive',
      'X-Internal: backend-secret',
      'Keep-Alive: timeout=99, max=7',
      'Proxy-Authenticate: Basic realm="up"',
      'Trailer: X-Checksum',
      'Upgrade: h2c',
      'X-Public: ok',
      `Content-Length: ${body.length}`,
      '',
      body,
    ].join('\r\n'),
  );
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await rawRequest(portico.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), body);
  assert.deepEqual(all(res, 'x-internal'), []);
  assert.deepEqual(all(res, 'proxy-authenticate'), []);
  assert.deepEqual(all(res, 'trailer'), []);
  assert.deepEqual(all(res, 'upgrade'), []);
  assert.equal(one(res, 'x-public'), 'ok');
  // Portico's own connection management, not the upstream's.
  for (const v of all(res, 'connection')) assert.doesNotMatch(v, /x-internal/i);
  for (const v of all(res, 'keep-alive')) assert.doesNotMatch(v, /99|max=7/);
});

test('several Set-Cookie headers reach the client as separate headers, in order', async (t) => {
  const upstream = await startUpstream((_req, res) => {
    res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; HttpOnly', 'c=3; Expires=Wed, 21 Oct 2037 07:28:00 GMT']);
    res.setHeader('Vary', 'Accept-Encoding');
    res.end('ok');
  });
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', response_headers: { add: { 'X-Added': '1' } }, ...proxyTo(upstream.address) }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await rawRequest(portico.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(res.status, 200);
  assert.deepEqual(all(res, 'set-cookie'), ['a=1; Path=/', 'b=2; HttpOnly', 'c=3; Expires=Wed, 21 Oct 2037 07:28:00 GMT']);
  assert.equal(one(res, 'x-added'), '1');
  assert.equal(res.body.toString(), 'ok');
});

/**
 * Two requests in a row on one client connection through Portico to an upstream that always
 * sends `response` raw: each reply is checked, and the second proves the framing held.
 */
async function twiceOnOneConnection(t: TestContext, response: string, check: (res: Awaited<ReturnType<RawClient['response']>>) => void) {
  const upstream = await rawUpstream(response);
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  for (let i = 0; i < 2; i++) {
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    check(await client.response());
  }
  assert.equal(upstream.requests.length, 2);
}

test('a chunked upstream response is re-framed for the client and the connection stays usable', (t) =>
  twiceOnOneConnection(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', (res) => {
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hello world');
    assert.equal(all(res, 'transfer-encoding').length, 1);
  }));

test('a 204 from the upstream reaches the client without Content-Length (RFC 9110 §8.6), and the connection stays usable', (t) =>
  twiceOnOneConnection(t, 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-Kept: yes\r\n\r\n', (res) => {
    assert.equal(res.status, 204);
    assert.deepEqual(all(res, 'content-length'), []);
    assert.equal(one(res, 'x-kept'), 'yes');
  }));
