/**
 * The temp-file budget (temp_files) is accounted exactly: whatever ends a spooled response or
 * a spooled request body — the response completes, the client leaves (HTTP/1.1 connection
 * closed, HTTP/2 stream reset), the upstream dies, send_timeout or body_timeout fire, the body
 * is refused (413) or the upstream is down (502) — the bytes it held go back and its temp file
 * is closed. And an upload waits while other connections hold the whole budget, then goes on.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { RawClient, closedPort, eventually, within } from '../proxy/support.js';
import { tempFiles } from '../../src/buffering/temp-file.js';
import { startH2Portico, type H2Portico } from './spool-support.js';

const MiB = 1024 * 1024;
const PIECE = Buffer.alloc(64 * 1024, 'r');
const BIG = 32 * MiB;
/** Clients of the running test, destroyed after it whatever happened. */
const clients: { destroy(): void }[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

let upstream: Server;
/** Requests with a body the upstream answered. */
let uploads = 0;
let upstreamAddress: string;
let portico: TestPortico;
/** body_timeout 1s, for the 408. */
let quick: TestPortico;
let h2: H2Portico;
let dataDir: string;
let tempDir: string;

/** The upstream's response to /die, which the test kills when it chooses. */
let dying: ServerResponse | null = null;

/** `size` bytes with backpressure; while `hold()` says so, nothing more is written. */
function send(res: ServerResponse, size: number, hold = () => false): void {
  res.writeHead(200, { 'Content-Length': size });
  let at = 0;
  const pump = () => {
    while (at < size) {
      if (hold()) return void setTimeout(pump, 20);
      const piece = PIECE.subarray(0, Math.min(PIECE.length, size - at));
      at += piece.length;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'portico-acct-data-'));
  tempDir = await mkdtemp(join(tmpdir(), 'portico-acct-temp-'));
  upstream = createServer((req, res) => {
    let length = 0;
    req.on('data', (c: Buffer) => (length += c.length));
    req.on('end', () => {
      // Larger than loopback's socket buffers (a few MiB each way) and than a connection's share.
      if (req.url === '/big') return send(res, BIG);
      // Written only while Portico's spool holds under 2 MiB: it never fills (8 MiB a
      // connection), so Portico still reads the upstream socket and sees its end at once,
      // however fast or slow the machine is.
      if (req.url === '/die') return send((dying = res), BIG, () => portico.server.spool.reserved >= 2 * MiB);
      uploads++;
      res.end(JSON.stringify({ length }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamAddress = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const dead = await closedPort();
  const temp_files = { dir: tempDir, max_total_size: 16 * MiB, max_connection_size: 8 * MiB };
  quick = await startPortico({ temp_files, client: { body_timeout: '1s' }, servers: [{ routes: [{ path: '/', proxy: { to: upstreamAddress } }] }] });
  portico = await startPortico({
    temp_files,
    client: { body_timeout: '30s' },
    servers: [
      {
        routes: [
          { path: '/down/', proxy: { to: `127.0.0.1:${dead}` } },
          { path: '/small/', max_body_size: '2MiB', proxy: { to: upstreamAddress } },
          { path: '/', max_body_size: 0, proxy: { to: upstreamAddress } },
        ],
      },
    ],
  });
  h2 = await startH2Portico(dataDir, upstreamAddress, { temp_files, client: { send_timeout: '1s' } });
});

after(async () => {
  await portico?.close();
  await quick?.close();
  await h2?.portico.close();
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  await rm(dataDir, { recursive: true, force: true });
  await rm(tempDir, { recursive: true, force: true });
});

/** Every Portico's accounting is back to 0 and no temp file is open. */
async function released(): Promise<void> {
  await eventually(
    () => portico.server.spool.reserved === 0 && quick.server.spool.reserved === 0 && h2.portico.server.spool.reserved === 0 && tempFiles.open === 0,
    'the temp-file accounting to return to 0 and every temp file to close',
    10_000,
  );
}

/** Reads the paused client's socket to the end of a response of `size` body bytes (counted, not kept); the status. */
async function drain(client: RawClient, size: number): Promise<number> {
  const socket = client.socket;
  socket.removeAllListeners('data'); // RawClient concatenates every chunk: too slow for 32 MiB
  let head = '';
  let body = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      if (!head.includes('\r\n\r\n')) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        body += head.length - end - 4;
        head = head.slice(0, end + 4);
      } else body += chunk.length;
      if (body >= size) resolve();
    });
    socket.once('close', () => reject(new Error(`closed after ${body} body bytes`)));
  });
  socket.resume();
  await within(done, 20_000, 'the whole response');
  assert.equal(body, size);
  return Number(/^HTTP\/1\.1 (\d+)/.exec(head)![1]);
}

/** A GET whose client reads nothing until Portico has spooled some of the response. */
async function stalledDownload(path: string): Promise<RawClient> {
  dying = null;
  const client = await RawClient.connect(portico.port);
  clients.push(client);
  client.socket.pause();
  client.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
  await eventually(() => portico.server.spool.reserved > 1 * MiB && (path !== '/die' || dying !== null), 'the response to spill to a temp file', 10_000);
  return client;
}

test('a spooled response read to its end', async () => {
  const client = await stalledDownload('/big');
  assert.equal(await drain(client, BIG), 200);
  await released();
});

test('HTTP/1.1: the client closes its connection mid-response', async () => {
  const client = await stalledDownload('/big');
  client.destroy();
  await released();
});

test('the upstream resets its connection mid-response while it is spooled', async () => {
  const client = await stalledDownload('/die');
  dying!.socket!.resetAndDestroy();
  await released();
  // The client reads what it was sent: the response is cut short, not completed.
  await assert.rejects(drain(client, BIG), /closed after \d+ body bytes/);
});

test('the upstream closes its connection mid-response; noticed once the client reads on', async () => {
  const client = await stalledDownload('/die');
  // A FIN is read only when the upstream socket is: while the spool is full it is paused (nginx
  // too stops reading), so the end is seen as the client drains the spool (or at send_timeout).
  // Here the spool is not full, so it is seen at once; either way the client gets a cut response.
  dying!.socket!.destroy();
  await assert.rejects(drain(client, BIG), /closed after \d+ body bytes/);
  await released();
});

test('HTTP/2: one stream is reset mid-response (the session stays)', async () => {
  const session = h2connect(h2.url, { ca: h2.ca });
  clients.push(session);
  try {
    const stream = session.request({ ':path': '/big' });
    stream.pause();
    await eventually(() => h2.portico.server.spool.reserved > 1 * MiB, 'the response to spill', 10_000);
    stream.close(0x8); // RST_STREAM CANCEL
    await released();
    assert.equal(session.closed, false);
  } finally {
    session.destroy();
  }
});

test('HTTP/2: send_timeout ends a stream that reads nothing', async () => {
  const session = h2connect(h2.url, { ca: h2.ca, settings: { initialWindowSize: 0 } });
  clients.push(session);
  session.on('error', () => {});
  try {
    const stream = session.request({ ':path': '/big' });
    stream.on('error', () => {});
    stream.pause();
    await eventually(() => h2.portico.server.spool.reserved > 1 * MiB, 'the response to spill', 10_000);
    await within(new Promise((resolve) => stream.once('close', resolve)), 10_000, 'send_timeout to reset the stream');
    await released();
  } finally {
    session.destroy();
  }
});

/** Sends a request head and `bytes` of body; the body is spooled to disk before the upstream sees anything. */
async function upload(path: string, length: number, bytes: number, server = portico): Promise<RawClient> {
  const client = await RawClient.connect(server.port);
  clients.push(client);
  client.write(`POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Length: ${length}\r\n\r\n`);
  client.write(Buffer.alloc(bytes, 'u'));
  return client;
}

test('request body: the client leaves mid-upload', async () => {
  const client = await upload('/', 4 * MiB, 2 * MiB);
  await eventually(() => portico.server.spool.reserved > 1 * MiB, 'the body to spill', 10_000);
  client.destroy();
  await released();
});

test('request body: body_timeout (408) ends an upload that stopped', async () => {
  const client = await upload('/', 4 * MiB, 2 * MiB, quick);
  const res = await client.response();
  assert.equal(res.status, 408);
  client.destroy();
  await released();
});

test('request body: complete, sent upstream', async () => {
  const client = await upload('/', 3 * MiB, 3 * MiB);
  const res = await client.response();
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body.toString()), { length: 3 * MiB });
  client.destroy();
  await released();
});

test('request body: past max_body_size after spilling (413)', async () => {
  const client = await upload('/small/', 3 * MiB, 3 * MiB);
  const res = await client.response();
  assert.equal(res.status, 413);
  client.destroy();
  await released();
});

test('request body: larger than temp_files lets one connection spool (413, logged)', async () => {
  const client = await upload('/', 10 * MiB, 10 * MiB);
  const res = await client.response();
  assert.equal(res.status, 413);
  assert.ok(portico.errors.some((e) => e.msg === 'request body larger than temp_files allows'));
  client.destroy();
  await released();
});

test('request body: buffered, then the upstream is down (502)', async () => {
  const client = await upload('/down/', 2 * MiB, 2 * MiB);
  const res = await client.response();
  assert.equal(res.status, 502);
  client.destroy();
  await released();
});

test('an upload waits while other connections hold the whole budget, then goes on', async () => {
  // Two readers that read nothing spool 8 MiB each (their connection's share): the 16 MiB total is spent.
  const readers = [await RawClient.connect(portico.port), await RawClient.connect(portico.port)];
  clients.push(...readers);
  for (const r of readers) {
    r.socket.pause();
    r.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
  }
  // Each keeps up to memory_limit (64 KiB) in memory and a chunk in its tail: the rest is on disk.
  await eventually(() => portico.server.spool.reserved > 15 * MiB, 'both responses to fill the budget', 10_000);
  const seen = uploads;
  const uploader = await upload('/', 2 * MiB, 2 * MiB);
  // Unhindered, Portico takes 2 MiB from loopback and answers in milliseconds; here it cannot
  // spool them (body_timeout is 30s on this server, so no 408 either).
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(uploader.buf.length, 0, 'no answer while the upload cannot be spooled');
  assert.equal(uploads, seen, 'the upstream has not seen the upload');
  assert.ok(portico.server.spool.reserved <= 16 * MiB);
  // One reader reads its response: its temp file drains, and the upload gets the space.
  assert.equal(await drain(readers[0]!, BIG), 200);
  const res = await uploader.response();
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body.toString()), { length: 2 * MiB });
  for (const c of [...readers, uploader]) c.destroy();
  await released();
});
