/**
 * Request and response buffering over real sockets: the upstream is contacted only once the
 * whole body is in, a slow reader does not hold the upstream, streams (SSE,
 * X-Accel-Buffering: no) are never buffered, and temp files are closed in every outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request, type ServerResponse } from 'node:http';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { RawClient, closedPort, delay, eventually, json, within } from '../proxy/support.js';
import { tempFiles } from '../../src/buffering/temp-file.js';
import { openTempFds } from '../helpers/temp-files.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const SIZE = 20 * 1024 * 1024;
const BIG = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i += 4) BIG.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);

function noTempFiles(): Promise<void> {
  return eventually(() => tempFiles.open === 0 && openTempFds().length === 0, 'every temp file to be closed');
}

/** Writes BIG with backpressure; `done` once the upstream has handed the last byte to its socket. */
function sendBig(res: ServerResponse, headers: Record<string, string | number>, done: () => void): void {
  res.writeHead(200, { 'Content-Length': SIZE, ...headers });
  res.on('finish', done);
  let at = 0;
  const pump = () => {
    while (at < SIZE) {
      const piece = BIG.subarray(at, at + 64 * 1024);
      at += piece.length;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

test('request buffering: the upstream is contacted only once the whole body is in, with Content-Length', async (t) => {
  const upstream = await startUpstream();
  const connections: number[] = [];
  upstream.server.on('connection', () => connections.push(Date.now()));
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
  const part = Buffer.alloc(200 * 1024, 'p'); // past memory_limit: spooled to disk
  client.write(`${part.length.toString(16)}\r\n`);
  client.write(part);
  client.write('\r\n');
  await eventually(() => tempFiles.open === 1, 'the body to spill to a temp file');
  await delay(300);
  assert.equal(connections.length, 0, 'nothing reaches the upstream while the body is incomplete');
  client.write('3\r\nend\r\n0\r\n\r\n');
  const res = await client.response();
  assert.equal(res.status, 200);
  assert.equal(json<{ bodyLength: number }>(res).bodyLength, part.length + 3);
  assert.equal(upstream.seen[0]!.headers['content-length'], String(part.length + 3));
  assert.equal(upstream.seen[0]!.headers['transfer-encoding'], undefined);
  await noTempFiles();
});

test('response buffering: the upstream finishes while the client reads nothing; the client still gets every byte', async (t) => {
  let upstreamDone = false;
  const upstream = await startUpstream((_req, res) => sendBig(res, {}, () => (upstreamDone = true)));
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const got = await within(
    new Promise<Buffer>((resolve, reject) => {
      const req = request(`${portico.url}/big`, { agent: false }, (res) => {
        res.pause();
        // Kernel buffers hold a few MiB, never 20: the upstream can only finish if Portico read ahead.
        eventually(() => upstreamDone, 'the upstream to finish while the client reads nothing', 20_000).then(() => {
          assert.ok(tempFiles.open >= 1, 'the backlog is on disk, not in memory');
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.resume();
        }, reject);
      });
      req.on('error', reject);
      req.end();
    }),
    60_000,
    'the buffered response',
  );
  assert.equal(got.length, SIZE);
  assert.equal(sha256(got), sha256(BIG));
  await noTempFiles();
});

for (const [what, headers] of [
  ['text/event-stream', { 'Content-Type': 'text/event-stream' }],
  ['X-Accel-Buffering: no', { 'X-Accel-Buffering': 'no' }],
] as const) {
  test(`never buffered: ${what} keeps backpressure to the upstream`, async (t) => {
    let upstreamDone = false;
    const upstream = await startUpstream((_req, res) => sendBig(res, headers, () => (upstreamDone = true)));
    const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
    t.after(() => Promise.all([portico.close(), upstream.close()]));
    const got = await within(
      new Promise<Buffer>((resolve, reject) => {
        const req = request(`${portico.url}/stream`, { agent: false }, (res) => {
          res.pause();
          void delay(500).then(() => {
            assert.equal(upstreamDone, false, 'the upstream finished while the client read nothing: the stream was buffered');
            assert.equal(tempFiles.open, 0);
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(Buffer.concat(chunks)));
            res.resume();
          });
        });
        req.on('error', reject);
        req.end();
      }),
      60_000,
      'the stream',
    );
    assert.equal(sha256(got), sha256(BIG));
  });
}

test('temp files are closed in every outcome: client gone mid-upload, mid-download, upstream down', async (t) => {
  const upstream = await startUpstream((req, res) => {
    if (req.url === '/big') return sendBig(res, {}, () => {});
    res.end('ok');
  });
  const dead = await closedPort();
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/down/', ...proxyTo(`127.0.0.1:${dead}`) }, { path: '/', ...proxyTo(upstream.address) }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  // 1. The client leaves halfway through a spooled upload: the upstream never hears of it.
  const uploader = await RawClient.connect(portico.port);
  uploader.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`);
  uploader.write(Buffer.alloc(1024 * 1024, 'u'));
  await eventually(() => tempFiles.open === 1, 'the upload to spill');
  uploader.destroy();
  await noTempFiles();
  assert.equal(upstream.seen.length, 0);

  // 2. The client leaves while its response is spooled.
  const reader = await RawClient.connect(portico.port);
  reader.socket.pause();
  reader.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
  await eventually(() => tempFiles.open === 1, 'the response to spill');
  reader.destroy();
  await noTempFiles();

  // 3. The body was buffered, then the upstream cannot be reached.
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write(`POST /down/ HTTP/1.1\r\nHost: a\r\nContent-Length: ${512 * 1024}\r\n\r\n`);
  client.write(Buffer.alloc(512 * 1024, 'd'));
  const res = await client.response();
  assert.equal(res.status, 502);
  await noTempFiles();
});

for (const buffering of [false, true]) {
  test(`large responses in a row over one pooled upstream connection (buffering ${buffering}): none stalls`, async (t) => {
    // The last body chunk can find the client's socket full, which pauses the upstream socket;
    // the connection must not go back to the pool paused (the next response on it was never
    // read: docs/benchmarks.md, scenario c). Larger than the kernel's socket buffers.
    const MIB = Buffer.alloc(12 * 1024 * 1024, 'm');
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'Content-Length': MIB.length });
      res.end(MIB);
    });
    // With buffering the upstream is done long before the slow client is, and the next request
    // comes only then: on a loaded machine past node's 5 s keep-alive, which would close the
    // connection (a fresh one would be right, and this test about reuse would fail).
    upstream.server.keepAliveTimeout = 60_000;
    const portico = await startPortico({
      servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address, { buffering, read_timeout: '3s', keepalive_connections: 1 }) }] }],
    });
    t.after(() => Promise.all([portico.close(), upstream.close()]));
    for (let i = 0; i < 4; i++) {
      const got = await within(
        new Promise<{ status: number; length: number }>((resolve, reject) => {
          const req = request(`${portico.url}/large`, { agent: false }, (res) => {
            let length = 0;
            // A reader a little slower than the upstream, so Portico's writes meet backpressure.
            res.on('data', (c: Buffer) => {
              length += c.length;
              res.pause();
              setTimeout(() => res.resume(), 2);
            });
            res.on('end', () => resolve({ status: res.statusCode!, length }));
          });
          req.on('error', reject);
          req.end();
        }),
        10_000,
        `response ${i + 1}`,
      );
      assert.deepEqual(got, { status: 200, length: MIB.length }, `response ${i + 1}`);
    }
    assert.equal(new Set(upstream.seen.map((s) => s.remotePort)).size, 1, 'one upstream connection, reused');
  });
}

test('a stream\'s head reaches the client before its first bytes (an event stream opens at once); other heads wait for their body', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const upstream = await startUpstream((req, res) => {
    res.writeHead(200, { 'Content-Type': req.url === '/events' ? 'text/event-stream' : 'application/json' });
    res.flushHeaders(); // the upstream sends its head now, its body later
    void released.then(() => res.end(req.url === '/events' ? 'data: hello\n\n' : '{}'));
  });
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const head = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${portico.url}${path}`, { agent: false }, (res) => {
        resolve(res.statusCode!);
        res.resume();
      });
      req.on('error', reject);
      req.end();
    });
  const json = head('/json');
  assert.equal(await within(head('/events'), 5_000, 'the event stream\'s head, before any event'), 200);
  let jsonHead = false;
  void json.then(() => (jsonHead = true));
  await delay(200);
  assert.equal(jsonHead, false, 'a buffered response\'s head goes out with its body, as from nginx');
  release();
  assert.equal(await json, 200);
});
