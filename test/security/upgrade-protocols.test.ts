/**
 * Issue 12 item 4: only the Upgrade protocols a route lists are tunnelled (`proxy.upgrade`,
 * default websocket; h2c never). After a 101 Portico only copies bytes, so a tunnel for
 * "Upgrade: h2c" let a client send HTTP/2 requests for any path straight to the app, past
 * every route rule. Any other Upgrade request is served as a plain request without its
 * Upgrade header (as nginx does when its config does not pass Upgrade on).
 * The upstream here switches to whatever protocol it is offered, so any Upgrade header that
 * reached it would open a tunnel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { frameRequest, type OriginRequest } from '../helpers/recording-origin.js';
import { validateConfig } from '../../src/config/load.js';
import { RawClient } from '../proxy/support.js';
import { startTlsPortico } from './h2.js';

interface Switching {
  address: string;
  requests: Omit<OriginRequest, 'connection' | 'indexOnConnection' | 'seq'>[];
  /** Bytes received on connections after they switched protocols. */
  tunnelled: Buffer[];
  close(): Promise<void>;
}

/** An upstream that answers 101 to any Upgrade it is offered (or to `answer`), 200 otherwise. */
async function switchingUpstream(answer?: string): Promise<Switching> {
  const requests: Switching['requests'] = [];
  const tunnelled: Buffer[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let switched = false;
    socket.on('data', (d: Buffer) => {
      if (switched) return void tunnelled.push(d);
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const framed = frameRequest(buf);
        if (framed === 'incomplete') return;
        if (framed === 'invalid') return void socket.destroy();
        buf = buf.subarray(framed.used);
        requests.push(framed.req);
        const upgrade = framed.req.headers.find(([n]) => n.toLowerCase() === 'upgrade')?.[1];
        if (upgrade !== undefined) {
          switched = true;
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${answer ?? upgrade}\r\n\r\n`);
          if (buf.length > 0) tunnelled.push(buf);
          return;
        }
        const body = JSON.stringify({ target: framed.req.target, body: framed.req.body.toString() });
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    tunnelled,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const header = (r: { headers: [string, string][] }, name: string) => r.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

async function setUp(t: { after(fn: () => unknown): void }, extra: Record<string, unknown> = {}, answer?: string) {
  const upstream = await switchingUpstream(answer);
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/admin/', access: [{ deny: ['all'] }], ...proxyTo(upstream.address) },
          { path: '/', ...proxyTo(upstream.address, extra) },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  return { upstream, portico };
}

const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

for (const [name, lines] of [
  ['h2c', 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n'],
  ['foo', 'Connection: Upgrade\r\nUpgrade: foo/1\r\n'],
  ['H2C in capitals, listed twice', 'Connection: Upgrade\r\nUpgrade: H2C\r\nUpgrade: h2c\r\n'],
] as const) {
  test(`"Upgrade: ${name}" is never tunnelled: a plain request, and the connection stays HTTP/1.1 through Portico`, async (t) => {
    const { upstream, portico } = await setUp(t);
    const client = await RawClient.connect(portico.port);
    t.after(() => client.destroy());
    client.write(`GET /app HTTP/1.1\r\nHost: a\r\n${lines}\r\n`);
    const res = await client.response();
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body.toString()).target, '/app');
    // What comes next is HTTP/1.1 to Portico, routed as usual: the denied route stays denied.
    client.write('GET /admin/secret HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal((await client.response()).status, 403);
    client.write(`${H2_PREFACE}`);
    assert.equal((await client.response()).status, 400, 'an HTTP/2 preface is a bad HTTP/1.1 request');
    assert.equal(upstream.requests.length, 1);
    const seen = upstream.requests[0]!;
    assert.deepEqual(header(seen, 'upgrade'), []);
    assert.deepEqual(header(seen, 'http2-settings'), []);
    for (const v of header(seen, 'connection')) assert.doesNotMatch(v, /upgrade/i);
    assert.deepEqual(upstream.tunnelled, []);
  });
}

test('a disallowed Upgrade request keeps its body and what is pipelined after it', async (t) => {
  const { upstream, portico } = await setUp(t);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  // curl --http2 on http:// sends its POST like this.
  client.write('POST /form HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello');
  const first = await client.response();
  // (Not pipelined behind the first: an Upgrade request behind a response still being sent is
  // the desync package's case.)
  client.write('POST /chunked HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: foo\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /admin/x HTTP/1.1\r\nHost: a\r\n\r\n');
  const second = await client.response();
  const third = await client.response();
  assert.deepEqual(JSON.parse(first.body.toString()), { target: '/form', body: 'hello' });
  assert.deepEqual(JSON.parse(second.body.toString()), { target: '/chunked', body: 'abc' });
  assert.equal(third.status, 403);
  assert.deepEqual(
    upstream.requests.map((r) => [r.method, r.target, r.body.toString()]),
    [
      ['POST', '/form', 'hello'],
      ['POST', '/chunked', 'abc'],
    ],
  );
  assert.deepEqual(upstream.tunnelled, []);
});

test('over TLS (HTTP/1.1 by ALPN) too: "Upgrade: h2c" is served as a plain request', async (t) => {
  const upstream = await switchingUpstream();
  const tls = await startTlsPortico({ servers: [{ routes: [{ path: '/admin/', access: [{ deny: ['all'] }], ...proxyTo(upstream.address) }, { path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([tls.close(), upstream.close()]));
  const client = await RawClient.connectTls(tls.port, tls.ca);
  t.after(() => client.destroy());
  client.write('GET /app HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
  assert.equal((await client.response()).status, 200);
  client.write('GET /admin/ HTTP/1.1\r\nHost: localhost\r\n\r\n');
  assert.equal((await client.response()).status, 403);
  assert.deepEqual(
    upstream.requests.map((r) => [r.target, header(r, 'upgrade')]),
    [['/app', []]],
  );
  assert.deepEqual(upstream.tunnelled, []);
});

test('websocket is tunnelled by default, offered alone when the client lists others too', async (t) => {
  const { upstream, portico } = await setUp(t);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c, WebSocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  const res = await client.response();
  assert.equal(res.status, 101);
  assert.deepEqual(header(upstream.requests[0]!, 'upgrade'), ['WebSocket']);
});

test('a route lists what it tunnels: upgrade: [foo] tunnels foo, upgrade: [] tunnels nothing', async (t) => {
  const listed = await setUp(t, { upgrade: ['foo'] });
  let client = await RawClient.connect(listed.portico.port);
  client.write('GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n');
  assert.equal((await client.response()).status, 101);
  client.destroy();
  client = await RawClient.connect(listed.portico.port);
  client.write('GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  assert.equal((await client.response()).status, 200, 'websocket is not in that list');
  client.destroy();

  const none = await setUp(t, { upgrade: [] });
  client = await RawClient.connect(none.portico.port);
  client.write('GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  assert.equal((await client.response()).status, 200);
  client.destroy();
  assert.deepEqual(header(none.upstream.requests[0]!, 'upgrade'), []);
});

test('an upstream 101 to a protocol that was not offered is a 502, and no tunnel', async (t) => {
  const { upstream, portico } = await setUp(t, {}, 'h2c');
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  assert.equal((await client.response()).status, 502);
  await client.untilClosed();
  assert.equal(upstream.requests.length, 1);
});

test('the config refuses h2c in proxy.upgrade', () => {
  for (const upgrade of [['h2c'], ['websocket', 'H2C']]) {
    assert.throws(() => validateConfig({ servers: [{ routes: [{ path: '/', proxy: { to: '127.0.0.1:1', upgrade } }] }] }, 'test'), /h2c is never tunnelled/);
  }
  const ok = validateConfig({ servers: [{ routes: [{ path: '/', proxy: { to: '127.0.0.1:1' } }] }] }, 'test');
  assert.deepEqual(ok.servers[0]!.routes[0]!.proxy!.upgrade, ['websocket']);
});

test('an allowed Upgrade on a request with a body, or not a GET, is served as a plain request (found by the fuzzer, seed 12)', async (t) => {
  // A tunnel copies bytes only after the 101: the handshake went upstream with its
  // Content-Length and no body, and the upstream waited for it until read_timeout.
  const { upstream, portico } = await setUp(t);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  const ws = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
  client.write(`POST /with-body HTTP/1.1\r\nHost: a\r\n${ws}Content-Length: 5\r\n\r\nhello`);
  assert.deepEqual(JSON.parse((await client.response()).body.toString()), { target: '/with-body', body: 'hello' });
  client.write(`GET /get-with-body HTTP/1.1\r\nHost: a\r\n${ws}Content-Length: 3\r\n\r\nabc`);
  assert.deepEqual(JSON.parse((await client.response()).body.toString()), { target: '/get-with-body', body: 'abc' });
  client.write(`DELETE /not-get HTTP/1.1\r\nHost: a\r\n${ws}\r\n`);
  assert.deepEqual(JSON.parse((await client.response()).body.toString()), { target: '/not-get', body: '' });
  assert.deepEqual(upstream.tunnelled, []);
  for (const r of upstream.requests) assert.deepEqual(header(r, 'upgrade'), [], r.target);
});
