/**
 * WebSocket (Upgrade) tunnelling through a plain proxy route: handshake relayed, frames both
 * ways, either side closing closes the other, upstream failures and refusals reach the client.
 * The upstream is a minimal RFC 6455 echo server on node's 'upgrade' event; the client does
 * the handshake on a raw socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { startPortico, proxyTo, type TestPortico } from '../helpers/portico.js';
import { RawClient, closedPort, eventually, http, one, rawValues, within } from './support.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptFor = (key: string) => createHash('sha1').update(key + GUID).digest('base64');

const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;

/** One frame; clients must mask (RFC 6455 §5.3), servers must not. */
function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + ext);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([head, masked]);
}

interface Frame {
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

function decodeFrame(buf: Buffer): { frame: Frame; used: number } | undefined {
  if (buf.length < 2) return undefined;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const key = masked ? buf.subarray(at, at + 4) : undefined;
  if (masked) at += 4;
  if (buf.length < at + len) return undefined;
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (key) for (let i = 0; i < len; i++) payload[i]! ^= key[i & 3]!;
  return { frame: { opcode, masked, payload }, used: at + len };
}

interface WsUpstream {
  server: Server;
  address: string;
  handshakes: IncomingMessage[];
  sockets: Socket[];
  /** Client frames as the upstream decoded them (proof they arrived masked). */
  received: Frame[];
  close(): Promise<void>;
}

/**
 * Echo server: every text/binary frame comes back unmasked; /deny answers 403; /greet sends a
 * frame with the 101. Like the `ws` package it closes its side when the peer's FIN arrives,
 * unless `halfOpen` (a server that ignores FIN and would keep a tunnel open forever).
 */
async function startWsUpstream(halfOpen = false): Promise<WsUpstream> {
  const handshakes: IncomingMessage[] = [];
  const sockets: Socket[] = [];
  const received: Frame[] = [];
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('upgrade required');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    handshakes.push(req);
    sockets.push(socket);
    socket.on('error', () => {});
    if (!halfOpen) socket.on('end', () => socket.end());
    if (req.url === '/deny') {
      const body = 'origin not allowed';
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nX-Reason: origin\r\n\r\n${body}`);
      return;
    }
    if (req.url === '/deny-chunked') {
      socket.end('HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nlogin\r\n6\r\n first\r\n0\r\n\r\n');
      return;
    }
    if (req.url === '/silent') return; // never answers
    const key = req.headers['sec-websocket-key'];
    let response =
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptFor(String(key))}\r\nX-Upstream: ws\r\n\r\n`;
    socket.setNoDelay(true);
    if (req.url === '/greet') {
      socket.write(Buffer.concat([Buffer.from(response, 'latin1'), encodeFrame(OP_TEXT, Buffer.from('welcome'), false)]));
      response = '';
    } else {
      socket.write(response, 'latin1');
    }
    let buf = head;
    const consume = () => {
      let parsed;
      while ((parsed = decodeFrame(buf))) {
        buf = buf.subarray(parsed.used);
        const { frame } = parsed;
        received.push(frame);
        if (frame.opcode === OP_CLOSE) {
          socket.end(encodeFrame(OP_CLOSE, frame.payload, false));
          return;
        }
        socket.write(encodeFrame(frame.opcode, frame.payload, false));
      }
    };
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      consume();
    });
    consume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    handshakes,
    sockets,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function handshake(path: string, key: string, extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://app.example\r\n${extra}\r\n`
  );
}

/** Reads the next frame from the raw client's buffer (bounded). */
async function nextFrame(client: RawClient): Promise<Frame> {
  await eventually(() => decodeFrame(client.buf) !== undefined || client.ended, 'a frame');
  const parsed = decodeFrame(client.buf);
  if (!parsed) throw new Error('connection closed before a frame');
  client.buf = client.buf.subarray(parsed.used);
  return parsed.frame;
}

async function setup(t: { after(fn: () => unknown): void }, proxyExtra: Record<string, unknown> = {}, halfOpen = false) {
  const upstream = await startWsUpstream(halfOpen);
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address, proxyExtra) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  return { upstream, portico };
}

async function open(portico: TestPortico, path = '/chat', extra = '') {
  const client = await RawClient.connect(portico.port);
  const key = randomBytes(16).toString('base64');
  client.write(handshake(path, key, extra));
  const res = await client.response();
  return { client, key, res };
}

test('handshake: 101 with the upstream Sec-WebSocket-Accept, and masked frames round-trip', async (t) => {
  const { upstream, portico } = await setup(t);
  const { client, key, res } = await open(portico, '/chat?room=1');
  t.after(() => client.destroy());

  assert.equal(res.status, 101);
  assert.equal(one(res, 'sec-websocket-accept'), acceptFor(key));
  assert.equal(one(res, 'upgrade'), 'websocket');
  assert.match(one(res, 'connection') ?? '', /^upgrade$/i);
  assert.equal(one(res, 'x-upstream'), 'ws');

  const hs = upstream.handshakes[0]!;
  assert.equal(hs.url, '/chat?room=1');
  assert.deepEqual(rawValues(hs.rawHeaders, 'upgrade'), ['websocket']);
  assert.deepEqual(rawValues(hs.rawHeaders, 'connection'), ['upgrade']);
  assert.deepEqual(rawValues(hs.rawHeaders, 'sec-websocket-key'), [key]);
  assert.deepEqual(rawValues(hs.rawHeaders, 'sec-websocket-version'), ['13']);
  assert.deepEqual(rawValues(hs.rawHeaders, 'host'), ['app.example']);
  assert.deepEqual(rawValues(hs.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);

  client.write(encodeFrame(OP_TEXT, Buffer.from('hello through portico'), true));
  const echo = await nextFrame(client);
  assert.equal(echo.opcode, OP_TEXT);
  assert.equal(echo.masked, false);
  assert.equal(echo.payload.toString(), 'hello through portico');
  assert.equal(upstream.received[0]!.masked, true, 'the client frame reached the upstream as sent (masked)');

  // A frame with a 64-bit length, to see large payloads pass unaltered both ways.
  const big = randomBytes(200_000);
  client.write(encodeFrame(OP_BINARY, big, true));
  const bigEcho = await nextFrame(client);
  assert.equal(bigEcho.opcode, OP_BINARY);
  assert.ok(bigEcho.payload.equals(big));

  // Close handshake: the upstream answers and ends; the client connection closes.
  client.write(encodeFrame(OP_CLOSE, Buffer.from([0x03, 0xe8]), true));
  const closeFrame = await nextFrame(client);
  assert.equal(closeFrame.opcode, OP_CLOSE);
  await client.untilClosed();
});

test('a frame sent together with the handshake is not lost, nor one sent together with the 101', async (t) => {
  const { portico } = await setup(t);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  const key = randomBytes(16).toString('base64');
  client.write(Buffer.concat([Buffer.from(handshake('/greet', key)), encodeFrame(OP_TEXT, Buffer.from('eager'), true)]));
  const res = await client.response();
  assert.equal(res.status, 101);
  const frames = [await nextFrame(client), await nextFrame(client)];
  assert.deepEqual(
    frames.map((f) => f.payload.toString()),
    ['welcome', 'eager'],
  );
});

test('the client going away closes the upstream socket', async (t) => {
  const { upstream, portico } = await setup(t);
  const { client, res } = await open(portico);
  assert.equal(res.status, 101);
  client.write(encodeFrame(OP_TEXT, Buffer.from('ping'), true));
  assert.equal((await nextFrame(client)).payload.toString(), 'ping');

  const upstreamSocket = upstream.sockets[0]!;
  const closed = new Promise((resolve) => upstreamSocket.once('close', resolve));
  client.destroy();
  await within(closed, 5000, 'the upstream socket to close');
  // Portico keeps serving new tunnels.
  const again = await open(portico);
  t.after(() => again.client.destroy());
  assert.equal(again.res.status, 101);
});

test('the client going away releases the tunnel even when the upstream ignores the FIN', async (t) => {
  const { upstream, portico } = await setup(t, {}, true);
  const { client, res } = await open(portico);
  assert.equal(res.status, 101);
  client.write(encodeFrame(OP_TEXT, Buffer.from('ping'), true));
  assert.equal((await nextFrame(client)).payload.toString(), 'ping');

  // Portico's end of this client's connection.
  const localPort = client.socket.localPort;
  const tunnelled = [...portico.server.tunnels].find((s) => (s as Socket).remotePort === localPort);
  assert.ok(tunnelled, 'the tunnel is registered');
  const upstreamSocket = upstream.sockets[0]!;
  let upstreamGotFin = false;
  upstreamSocket.once('end', () => (upstreamGotFin = true));
  client.destroy();
  await eventually(() => upstreamGotFin, 'the FIN forwarded to the upstream');
  await eventually(() => !portico.server.tunnels.has(tunnelled) && tunnelled.destroyed, "Portico's sockets of the tunnel to be released");
});

test('the upstream going away closes the client socket', async (t) => {
  const { upstream, portico } = await setup(t);
  const { client, res } = await open(portico);
  t.after(() => client.destroy());
  assert.equal(res.status, 101);
  client.write(encodeFrame(OP_TEXT, Buffer.from('ping'), true));
  assert.equal((await nextFrame(client)).payload.toString(), 'ping');

  upstream.sockets[0]!.destroy();
  await client.untilClosed();
});

test('upgrade to a closed upstream port: 502 on the socket, logged', async (t) => {
  const port = await closedPort();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(`127.0.0.1:${port}`) }] }] });
  t.after(() => portico.close());

  const { client, res } = await open(portico);
  assert.equal(res.status, 502);
  await client.untilClosed();
  const records = portico.errors.filter((e) => e.level === 50);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.upstream, `127.0.0.1:${port}`);
  assert.match(String(records[0]!.msg), /connection refused/);
});

test('upstream declining the upgrade with 403: the client gets that 403 and its body', async (t) => {
  const { portico } = await setup(t);
  const { client, res } = await open(portico, '/deny');
  t.after(() => client.destroy());
  assert.equal(res.status, 403);
  assert.equal(res.body.toString(), 'origin not allowed');
  assert.equal(one(res, 'x-reason'), 'origin');
  assert.equal(one(res, 'upgrade'), undefined);
  assert.equal(one(res, 'connection'), 'close');
  await client.untilClosed();
});

test('a chunked refusal reaches the client with a body it can delimit', async (t) => {
  const { portico } = await setup(t);
  const { client, res } = await open(portico, '/deny-chunked');
  t.after(() => client.destroy());
  assert.equal(res.status, 401);
  assert.equal(res.body.toString(), 'login first');
  assert.equal(one(res, 'connection'), 'close');
});

test('upstream not answering the upgrade within read_timeout: 504', async (t) => {
  const { portico } = await setup(t, { read_timeout: '300ms' });
  const { client, res } = await open(portico, '/silent');
  assert.equal(res.status, 504);
  await client.untilClosed();
});

test('plain requests on the same route still work next to tunnels', async (t) => {
  const { portico } = await setup(t);
  const { client, res } = await open(portico);
  t.after(() => client.destroy());
  assert.equal(res.status, 101);
  const plain = await http(`${portico.url}/page`);
  assert.equal(plain.status, 426);
  assert.equal(plain.body.toString(), 'upgrade required');
});

test('an upgrade request to a respond route is answered as a plain request; the connection goes on', async (t) => {
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', respond: { status: 404, body: 'no sockets here' } }] }] });
  t.after(() => portico.close());
  const { client, res } = await open(portico);
  t.after(() => client.destroy());
  assert.equal(res.status, 404);
  assert.equal(res.body.toString(), 'no sockets here');
  // Nothing was upgraded (test/security/upgrade-protocols.test.ts): the next request is HTTP/1.1.
  client.write('GET /next HTTP/1.1\r\nHost: app.example\r\n\r\n');
  assert.equal((await client.response()).status, 404);
});

test('an upgrade request with a path above the root: 400 and closed, nothing reaches the upstream', async (t) => {
  const { upstream, portico } = await setup(t);
  const client = await RawClient.connect(portico.port);
  client.write(handshake('/../chat', randomBytes(16).toString('base64')));
  const res = await client.response();
  assert.equal(res.status, 400);
  await client.untilClosed();
  assert.equal(upstream.handshakes.length, 0);
});
