// Upstream transports: HTTPS verified against a custom CA (or explicitly not), SNI; unix
// sockets, for requests and WebSocket tunnels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortico } from '../helpers/portico.js';
import { makeCerts, type TestCerts } from '../helpers/tls-certs.js';
import { http, json, RawClient } from '../proxy/support.js';

interface TlsUpstream {
  port: number;
  /** TLS connections accepted so far. */
  connections(): number;
  /** SNI names seen, one per request. */
  sni: (string | false | null)[];
  close(): Promise<void>;
}

async function tlsUpstream(certs: TestCerts): Promise<TlsUpstream> {
  const sni: (string | false | null)[] = [];
  const server = createHttpsServer({ key: certs.key, cert: certs.cert }, (req, res) => {
    sni.push((req.socket as TLSSocket).servername);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ url: req.url, host: req.headers.host, tls: true }));
  });
  let connections = 0;
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    sni,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('https upstream: verified against a custom CA; without it, or with a wrong name, 502 and a log naming the certificate problem', async (t) => {
  const certs = makeCerts(['DNS:localhost', 'IP:127.0.0.1']);
  const up = await tlsUpstream(certs);
  t.after(async () => {
    await up.close();
    certs.cleanup();
  });
  const https = `https://127.0.0.1:${up.port}`;
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/custom-ca/', proxy: { to: { servers: [https], tls: { ca: certs.caFile } } } },
          { path: '/system/', proxy: { to: https } },
          { path: '/sni/', proxy: { to: { servers: [https], tls: { ca: certs.caFile, server_name: 'localhost' } } } },
          { path: '/wrong-name/', proxy: { to: { servers: [https], tls: { ca: certs.caFile, server_name: 'other.example' } } } },
          { path: '/insecure/', proxy: { to: { servers: [https], tls: { insecure_skip_verify: true } } } },
        ],
      },
    ],
  });
  t.after(() => portico.close());

  const ok = await http(`${portico.url}/custom-ca/x?y=1`);
  assert.equal(ok.status, 200);
  assert.deepEqual(json(ok), { url: '/custom-ca/x?y=1', host: `127.0.0.1:${portico.port}`, tls: true });
  assert.equal(up.sni.at(-1), false, 'no SNI for an IP address');

  const untrusted = await http(`${portico.url}/system/`);
  assert.equal(untrusted.status, 502);
  const log = portico.errors.find((e) => e.uri === '/system/')!;
  assert.equal(log.upstream, https);
  assert.match(String(log.msg), /certificate/i);

  assert.equal((await http(`${portico.url}/sni/`)).status, 200);
  assert.equal(up.sni.at(-1), 'localhost');

  assert.equal((await http(`${portico.url}/wrong-name/`)).status, 502);
  assert.match(String(portico.errors.find((e) => e.uri === '/wrong-name/')!.msg), /ERR_TLS_CERT_ALTNAME_INVALID|altname|other\.example/i);

  assert.equal((await http(`${portico.url}/insecure/`)).status, 200);
});

test('https upstream: keep-alive connections are reused over TLS', async (t) => {
  const certs = makeCerts(['IP:127.0.0.1']);
  const up = await tlsUpstream(certs);
  t.after(async () => {
    await up.close();
    certs.cleanup();
  });
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', proxy: { to: { servers: [`https://127.0.0.1:${up.port}`], tls: { ca: certs.caFile } } } }] }],
  });
  t.after(() => portico.close());
  for (let i = 0; i < 5; i++) assert.equal((await http(`${portico.url}/${i}`)).status, 200);
  assert.equal(up.sni.length, 5);
  assert.equal(up.connections(), 1, 'one TLS connection carried all five requests');
});

interface UnixUpstream {
  path: string;
  server: Server;
  close(): Promise<void>;
}

async function unixUpstream(): Promise<UnixUpstream> {
  const dir = mkdtempSync(join(tmpdir(), 'portico-unix-'));
  const path = join(dir, 'app.sock');
  const server = createHttpServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ url: req.url, via: 'unix', host: req.headers.host }));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy(); // upgraded ones too
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

test('unix socket upstream: requests and a WebSocket tunnel', async (t) => {
  const up = await unixUpstream();
  t.after(() => up.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: `unix:${up.path}` } }] }] });
  t.after(() => portico.close());
  const r = await http(`${portico.url}/over/unix`);
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), { url: '/over/unix', via: 'unix', host: `127.0.0.1:${portico.port}` });

  const ws = await RawClient.connect(portico.port);
  t.after(() => ws.destroy());
  ws.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${portico.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
  const hs = await ws.response({ head: true });
  assert.equal(hs.status, 101);
  ws.write('ping');
  const deadline = Date.now() + 5000;
  while (!ws.buf.toString().includes('echo:ping') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(ws.buf.toString(), 'echo:ping');
});

test('a pool mixing a unix socket and TCP: both get requests', async (t) => {
  const unix = await unixUpstream();
  const tcp = createHttpServer((_req, res) => res.end(JSON.stringify({ via: 'tcp' })));
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    await unix.close();
    tcp.closeAllConnections();
    await new Promise((r) => tcp.close(r));
  });
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', proxy: { to: [`unix:${unix.path}`, `127.0.0.1:${(tcp.address() as { port: number }).port}`] } }] }],
  });
  t.after(() => portico.close());
  const via = [];
  for (let i = 0; i < 4; i++) via.push(json<{ via: string }>(await http(`${portico.url}/`)).via);
  assert.deepEqual(via, ['unix', 'tcp', 'unix', 'tcp']);
});
