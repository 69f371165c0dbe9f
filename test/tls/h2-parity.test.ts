/**
 * HTTP/2 and HTTP/1.1 clients of one TLS listener get the same routing, headers, bodies and
 * errors: every case runs over both and the two results must be equal (and right). The
 * upstream always speaks HTTP/1.1. Also: WebSockets over HTTP/1.1 on the TLS port, and no
 * RFC 8441 (the server does not offer extended CONNECT).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { connect as h2connect } from 'node:http2';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { h1Request, h2Request, type Reply, type RequestSpec } from '../helpers/tls.js';
import { closedPort, within } from '../proxy/support.js';

let upstream: TestUpstream;
let portico: TestPortico;
let dataDir: string;
let root: string;
let port: number;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'portico-h2-'));
  upstream = await startUpstream((req, res, body) => {
    const headers: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/; Secure']);
    res.end(JSON.stringify({ method: req.method, url: req.url, headers, body: body.toString() }));
  });
  const down = await closedPort();
  portico = await startPortico({
    data_dir: dataDir,
    servers: [
      {
        tls: 'internal',
        hsts: true,
        routes: [
          {
            path: '/api/',
            proxy: { to: upstream.address },
            request_headers: { set: { 'X-Route': 'api' } },
            response_headers: { add: { 'X-Added': 'yes' } },
          },
          { path: '= /hello', respond: { status: 201, body: 'hi\n', headers: { 'X-R': '1' } } },
          { path: '/old', redirect: { to: 'https://{host}/new{uri}', status: 301 } },
          { path: '/down/', proxy: { to: `127.0.0.1:${down}` } },
        ],
      },
    ],
  });
  port = portico.port;
  root = await readFile(join(dataDir, 'pki/authorities/local/root.crt'), 'utf8');
});

after(async () => {
  await portico?.close();
  await upstream?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** The same request over both protocols; returns both replies after checking the protocols. */
async function both(spec: RequestSpec): Promise<{ h1: Reply; h2: Reply }> {
  const h1 = await h1Request(port, root, spec);
  const h2 = await h2Request(port, root, spec);
  assert.equal(h1.protocol, 'HTTP/1.1');
  assert.equal(h2.protocol, 'HTTP/2');
  return { h1, h2 };
}

const sorted = (headers: [string, string][]) => [...headers].filter(([n]) => n !== 'transfer-encoding').sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));

function sameReply(r: { h1: Reply; h2: Reply }): void {
  assert.equal(r.h2.status, r.h1.status);
  assert.deepEqual(sorted(r.h2.headers), sorted(r.h1.headers));
  assert.equal(r.h2.body, r.h1.body);
}

test('a proxied GET: same status, headers and body; the upstream sees the same request, Host from :authority, X-Forwarded-Proto https', async () => {
  const seenBefore = upstream.seen.length;
  const r = await both({ path: '/api/echo?x=1', headers: { cookie: 'a=1; b=2', 'x-custom': 'v' } });
  // node's HTTP/2 client sends a cookie as one field; the split form is tested below.
  sameReply(r);
  assert.equal(r.h1.status, 200);
  const h1Seen = JSON.parse(r.h1.body);
  const h2Seen = JSON.parse(r.h2.body);
  assert.deepEqual(h2Seen, h1Seen);
  const get = (name: string) => h1Seen.headers.filter(([n]: [string]) => n === name).map(([, v]: [string, string]) => v);
  assert.deepEqual(get('host'), [`localhost:${port}`]);
  assert.deepEqual(get('x-forwarded-proto'), ['https']);
  assert.deepEqual(get('x-forwarded-host'), [`localhost:${port}`]);
  assert.deepEqual(get('x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(get('x-route'), ['api']);
  assert.deepEqual(get('cookie'), ['a=1; b=2']);
  assert.deepEqual(get('x-custom'), ['v']);
  assert.ok(h2Seen.headers.every(([n]: [string]) => !n.startsWith(':')), 'no pseudo-header reaches the upstream');
  assert.equal(upstream.seen.length, seenBefore + 2);
  // Response side: both Set-Cookie, the route's added header, HSTS.
  const cookies = r.h2.headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v);
  assert.deepEqual(cookies, ['a=1; Path=/', 'b=2; Path=/; Secure']);
  assert.ok(r.h2.headers.some(([n, v]) => n === 'x-added' && v === 'yes'));
  assert.ok(r.h2.headers.some(([n, v]) => n === 'strict-transport-security' && v === 'max-age=31536000'));
});

test('HTTP/2 cookie fields split per RFC 9113 §8.2.3 reach the HTTP/1.1 upstream as one Cookie header', async () => {
  const r = await h2Request(port, root, { path: '/api/c', headers: { cookie: ['a=1', 'b=2'] } });
  const seen = JSON.parse(r.body);
  assert.deepEqual(
    seen.headers.filter(([n]: [string]) => n === 'cookie'),
    [['cookie', 'a=1; b=2']],
  );
});

test('a POST body arrives the same over both; an HTTP/2 body without Content-Length goes upstream with one (request buffering)', async () => {
  const r = await both({ method: 'POST', path: '/api/form', headers: { 'content-type': 'text/plain' }, body: 'payload ✓' });
  sameReply(r);
  assert.equal(JSON.parse(r.h2.body).body, 'payload ✓');
  const noLength = await h2Request(port, root, { method: 'POST', path: '/api/form', body: 'streamed body', noLength: true });
  const seen = JSON.parse(noLength.body);
  assert.equal(seen.body, 'streamed body');
  assert.deepEqual(
    seen.headers.filter(([n]: [string]) => n === 'transfer-encoding' || n === 'content-length'),
    [['content-length', String(Buffer.byteLength('streamed body'))]],
  );
  const empty = await h2Request(port, root, { method: 'GET', path: '/api/none' });
  assert.equal(JSON.parse(empty.body).headers.filter(([n]: [string]) => n === 'transfer-encoding').length, 0, 'a GET without DATA has no body upstream');
});

for (const [what, spec, status] of [
  ['no route: 404', { path: '/nothing-here' }, 404],
  ['respond', { path: '/hello' }, 201],
  ['redirect', { path: '/old?q=1' }, 301],
  ['upstream down: 502', { path: '/down/x' }, 502],
  ['a path above the root: 400', { path: '/../etc/passwd' }, 400],
  ['HEAD', { method: 'HEAD', path: '/api/echo' }, 200],
] as [string, RequestSpec, number][]) {
  test(`same answer over HTTP/2 and HTTP/1.1: ${what}`, async () => {
    const r = await both(spec);
    assert.equal(r.h1.status, status, r.h1.body);
    sameReply(r);
  });
}

test('the redirect keeps the Host the client used; HTTP/2 reports it as :authority', async () => {
  const r = await both({ path: '/old?q=1' });
  assert.ok(r.h2.headers.some(([n, v]) => n === 'location' && v === `https://localhost/new/old?q=1`), JSON.stringify(r.h2.headers));
});

test('the HTTP/2 side does not offer extended CONNECT (RFC 8441): WebSockets stay on HTTP/1.1', async () => {
  const session = h2connect(`https://localhost:${port}`, { ca: root });
  const settings = await within(new Promise<Record<string, unknown>>((resolve) => session.once('remoteSettings', resolve)), 5000, 'SETTINGS');
  session.close();
  assert.notEqual(settings.enableConnectProtocol, true);
});

test('a WebSocket handshake over HTTP/1.1 on the TLS port is tunnelled to the upstream', async (t) => {
  // An upstream that accepts any upgrade and then echoes bytes back.
  const ws = createNetServer((socket) => {
    socket.once('data', (head) => {
      assert.match(head.toString(), /x-forwarded-proto: https/i);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.pipe(socket);
    });
  });
  await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
  t.after(() => ws.close());
  const wsPortico = await startPortico({ data_dir: dataDir, servers: [{ tls: 'internal', routes: [{ path: '/', proxy: { to: `127.0.0.1:${(ws.address() as AddressInfo).port}` } }] }] });
  t.after(() => wsPortico.close());
  const socket = tlsConnect({ host: '127.0.0.1', port: wsPortico.port, servername: 'localhost', ca: root, ALPNProtocols: ['h2', 'http/1.1'] });
  t.after(() => socket.destroy());
  await within(new Promise((r) => socket.once('secureConnect', r)), 5000, 'handshake');
  // A client asking for h2 gets it; this one then would have no WebSocket, so ask for 1.1 only.
  assert.equal(socket.alpnProtocol, 'h2');
  socket.destroy();
  const ws1 = tlsConnect({ host: '127.0.0.1', port: wsPortico.port, servername: 'localhost', ca: root, ALPNProtocols: ['http/1.1'] });
  t.after(() => ws1.destroy());
  await within(new Promise((r) => ws1.once('secureConnect', r)), 5000, 'handshake');
  let got = '';
  ws1.setEncoding('utf8');
  ws1.on('data', (c: string) => (got += c));
  ws1.write(`GET /chat HTTP/1.1\r\nHost: localhost:${wsPortico.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await within(
    (async () => {
      while (!got.includes('\r\n\r\n')) await new Promise((r) => ws1.once('data', r));
    })(),
    5000,
    '101',
  );
  assert.match(got, /^HTTP\/1\.1 101 /);
  got = '';
  ws1.write('frame-bytes');
  await within(
    (async () => {
      while (got !== 'frame-bytes') await new Promise((r) => ws1.once('data', r));
    })(),
    5000,
    'echo through the tunnel',
  );
});
