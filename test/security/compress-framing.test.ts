/**
 * Compression (src/filters/compress.ts) changes a response's framing: the length the app sent
 * no longer holds, so the body goes chunked (HTTP/1.1), close-delimited (HTTP/1.0) or in DATA
 * frames (HTTP/2). What a client reads must still be exactly one response per request:
 *  - the app's Content-Length never reaches the client with compressed bytes;
 *  - HEAD, 204 and 304 carry no body bytes however the head reads, so pipelined requests on
 *    the connection get their own responses;
 *  - an upstream that breaks off mid-body never yields a compressed response that looks
 *    complete (no last chunk, no END_STREAM): the client can tell it was cut, as without
 *    compression;
 *  - compressed responses to never-reading HTTP/2 streams stay within the temp-file caps,
 *    which return to 0, and their encoders are freed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as h2connect } from 'node:http2';
import zlib from 'node:zlib';
import { startPortico } from '../helpers/portico.js';
import { startRecordingOrigin } from '../helpers/recording-origin.js';
import { RawClient, all, eventually, startRawUpstream, within } from '../proxy/support.js';
import { compressStats } from '../../src/filters/compress.js';
import { startBigUpstream, h2Get } from './spool-support.js';

const PAGE = '<p>a page worth compressing</p>\n'.repeat(400);

function pageAnswer(target: string, method: string): string {
  if (target === '/nothing') return 'HTTP/1.1 204 No Content\r\nContent-Type: text/html\r\n\r\n';
  if (target === '/cached') return 'HTTP/1.1 304 Not Modified\r\nETag: "p1"\r\n\r\n';
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: "p1"\r\nContent-Length: ${PAGE.length}\r\n\r\n`;
  return method === 'HEAD' ? head : head + PAGE;
}

for (const lean of [true, false]) {
  test(`compressed responses are framed exactly: no upstream Content-Length, no body for HEAD, 204, 304, pipelined requests answered in order (${lean ? 'lean path' : "node's server"})`, async (t) => {
    const origin = await startRecordingOrigin((req) => pageAnswer(req.target, req.method));
    t.after(() => origin.close());
    if (!lean) process.env.PORTICO_LEAN_H1 = '0';
    const portico = await startPortico({ servers: [{ compress: true, routes: [{ path: '/', proxy: { to: origin.address } }] }] }).finally(() => delete process.env.PORTICO_LEAN_H1);
    t.after(() => portico.close());
    const client = await RawClient.connect(portico.port);
    t.after(() => client.destroy());
    const req = (method: string, target: string) => `${method} ${target} HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: gzip\r\n\r\n`;
    // One after another on one connection (the lean path takes no pipelined requests), then
    // the same sequence pipelined in one write (node's server).
    const sequence: [string, string][] = [
      ['HEAD', '/page'],
      ['GET', '/page'],
      ['GET', '/nothing'],
      ['GET', '/cached'],
      ['GET', '/page'],
    ];
    const check = async (method: string, target: string) => {
      const res = await client.response({ head: method === 'HEAD' });
      const what = `${method} ${target}`;
      if (target === '/nothing') return assert.equal(res.status, 204, what);
      if (target === '/cached') {
        assert.equal(res.status, 304, what);
        return assert.deepEqual(all(res, 'etag'), ['W/"p1"'], what);
      }
      assert.equal(res.status, 200, what);
      assert.deepEqual(all(res, 'content-encoding'), ['gzip'], what);
      assert.deepEqual(all(res, 'content-length'), [], `${what}: the app's length is not the compressed body's`);
      if (method === 'GET') {
        assert.deepEqual(all(res, 'transfer-encoding'), ['chunked'], what);
        assert.equal(zlib.gunzipSync(res.body).toString(), PAGE, what);
      }
    };
    for (const [method, target] of sequence) {
      client.write(req(method, target));
      await check(method, target);
    }
    client.write(sequence.map(([m, tg]) => req(m, tg)).join(''));
    for (const [method, target] of sequence) await check(method, target);
    // Nothing left over: the last response ended exactly where its framing said.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.buf.length, 0, `bytes after the last response: ${JSON.stringify(client.buf.toString('latin1').slice(0, 80))}`);
  });
}

/** An upstream that sends a head, part of the body, and closes: with a length, or chunked without the last chunk. */
async function breakingUpstream(chunked: boolean) {
  return startRawUpstream((socket) => {
    socket.once('data', () => {
      const part = PAGE.slice(0, 5000);
      if (chunked) socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n${part.length.toString(16)}\r\n${part}\r\n`);
      else socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${PAGE.length}\r\n\r\n${part}`);
      setTimeout(() => socket.destroy(), 20);
    });
  });
}

for (const chunked of [false, true]) {
  test(`an upstream that breaks off mid-body (${chunked ? 'chunked' : 'with a length'}): the compressed response is cut, never completed (HTTP/1.1 both paths, HTTP/2)`, async (t) => {
    const upstream = await breakingUpstream(chunked);
    t.after(() => upstream.close());
    for (const lean of [true, false]) {
      if (!lean) process.env.PORTICO_LEAN_H1 = '0';
      const portico = await startPortico({ servers: [{ compress: true, routes: [{ path: '/', proxy: { to: upstream.address } }] }] }).finally(() => delete process.env.PORTICO_LEAN_H1);
      t.after(() => portico.close());
      const client = await RawClient.connect(portico.port);
      client.write('GET /page HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: gzip\r\n\r\n');
      const rest = await client.untilClosed(10_000);
      const text = rest.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 200 /, 'the head went out');
      assert.match(text, /content-encoding: gzip/i);
      assert.doesNotMatch(text, /\r\n0\r\n\r\n$/, `${lean ? 'lean' : 'node'}: no last chunk after a cut body`);
    }
    const dir = await mkdtemp(join(tmpdir(), 'portico-compress-cut-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { readFile } = await import('node:fs/promises');
    const p = await startPortico({ data_dir: dir, servers: [{ tls: 'internal', compress: true, routes: [{ path: '/', proxy: { to: upstream.address } }] }] });
    t.after(() => p.close());
    const ca = await readFile(join(dir, 'pki/authorities/local/root.crt'), 'utf8');
    const session = h2connect(`https://localhost:${p.port}`, { ca });
    t.after(() => session.destroy());
    session.on('error', () => {});
    const outcome = await within(
      new Promise<{ encoding: unknown; ended: boolean; rst: number }>((resolve) => {
        const stream = session.request({ ':path': '/page', 'accept-encoding': 'gzip' });
        let encoding: unknown;
        stream.on('response', (h) => (encoding = h['content-encoding']));
        stream.on('data', () => {});
        stream.on('error', () => {});
        stream.on('end', () => resolve({ encoding, ended: true, rst: stream.rstCode ?? 0 }));
        stream.on('close', () => resolve({ encoding, ended: false, rst: stream.rstCode ?? 0 }));
      }),
      10_000,
      'the HTTP/2 stream to end',
    );
    assert.equal(outcome.encoding, 'gzip');
    assert.equal(outcome.ended, false, 'HTTP/2: the stream is reset, not ended');
    assert.notEqual(outcome.rst, 0);
  });
}

test('compressed responses to never-reading HTTP/2 streams: temp files within their caps and back to 0, encoders freed', async (t) => {
  const data = await mkdtemp(join(tmpdir(), 'portico-compress-nr-data-'));
  const temp = await mkdtemp(join(tmpdir(), 'portico-compress-nr-temp-'));
  t.after(() => Promise.all([rm(data, { recursive: true, force: true }), rm(temp, { recursive: true, force: true })]));
  const upstream = await startBigUpstream(8 * 1024 * 1024);
  t.after(() => upstream.close());
  const live = compressStats.live;
  const { readFile } = await import('node:fs/promises');
  const p = await startPortico({
    data_dir: data,
    temp_files: { dir: temp, max_total_size: '16MiB', max_connection_size: '8MiB' },
    // The big responses are application/octet-stream: every type is compressed here.
    servers: [{ tls: 'internal', compress: { types: ['*'] }, routes: [{ path: '/', proxy: { to: upstream.address } }] }],
  });
  t.after(() => p.close());
  const ca = await readFile(join(data, 'pki/authorities/local/root.crt'), 'utf8');
  const h2 = { portico: p, url: `https://localhost:${p.port}`, ca };
  // Eight streams that take gzip and never read a byte (window 0).
  const attacker = h2connect(h2.url, { ca, settings: { initialWindowSize: 0 } });
  attacker.on('error', () => {});
  for (let i = 0; i < 8; i++) {
    const stream = attacker.request({ ':path': `/big/${i}`, 'accept-encoding': 'gzip' });
    stream.on('error', () => {});
    stream.pause();
  }
  t.after(() => attacker.destroy());
  const spool = p.server.spool;
  await eventually(() => compressStats.live - live >= 8, 'eight compressing responses', 20_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(spool.reserved <= 8 * 1024 * 1024, `temp files of one connection: ${spool.reserved} bytes`);
  // Others are still served.
  const normal = h2connect(h2.url, { ca });
  t.after(() => normal.destroy());
  const small = await within(h2Get(normal, '/small/1'), 10_000, 'a normal request');
  assert.equal(small.status, 200);
  attacker.destroy();
  await eventually(() => compressStats.live === live, 'the encoders to be freed', 10_000);
  await eventually(() => spool.reserved === 0, `the temp-file accounting to return to 0 (at ${spool.reserved})`, 10_000);
});
