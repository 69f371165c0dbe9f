// The metrics filter (src/filters/metrics.ts) counts a route's responses, dispatch the requests
// no route took: together every request exactly once, whatever answered it. Compressed
// responses report their bytes before and after compression by coding, and the route's body
// bytes are what left (compressed), as the access log's $body_bytes_sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { request } from 'node:http';
import { rawRequest } from '../proxy/support.js';
import { scrape, startAdminPortico, total } from './support.js';

/** GET with headers; the body as it came (not decoded). */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, encoding: res.headers['content-encoding'] as string | undefined, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('every request is counted once: routed (by the metrics filter) or refused before a route (by dispatch)', async (t) => {
  const p = await startAdminPortico({
    servers: [
      {
        hosts: ['a.test'],
        routes: [
          { path: '/ok/', respond: { status: 200, body: 'ok' } },
          { path: '/gz/', respond: { status: 200, body: 'z'.repeat(2000) }, compress: true },
          { path: '/old', redirect: { to: '/ok/', status: 301 } },
        ],
      },
    ],
  });
  t.after(() => p.close());
  const before = await scrape(p.admin);
  const sent = { ok: 0, gz: 0, redirect: 0, noRoute: 0, badHost: 0 };
  for (let i = 0; i < 25; i++) {
    assert.equal((await get(p.port, '/ok/x', { Host: 'a.test' })).status, 200);
    sent.ok++;
    assert.equal((await get(p.port, '/gz/x', { Host: 'a.test', 'Accept-Encoding': 'gzip' })).status, 200);
    sent.gz++;
    assert.equal((await get(p.port, '/old', { Host: 'a.test' })).status, 301);
    sent.redirect++;
    // No location takes /nothing: a 404 no route's filters see.
    assert.equal((await get(p.port, '/nothing', { Host: 'a.test' })).status, 404);
    sent.noRoute++;
  }
  // Refused in dispatch before any route: two Host fields (400), on the lean path's connection.
  for (let i = 0; i < 5; i++) {
    const res = await rawRequest(p.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n');
    assert.equal(res.status, 400);
    sent.badHost++;
  }
  const after = await scrape(p.admin);
  const delta = (name: string, match: Record<string, string> = {}) => total(after, name, match) - total(before, name, match);
  const all = Object.values(sent).reduce((a, b) => a + b, 0);
  assert.equal(delta('portico_requests_total'), all, 'each request counted once');
  assert.equal(delta('portico_requests_total', { route: 'servers[0].routes[0] /ok/', status_class: '2xx' }), sent.ok);
  assert.equal(delta('portico_requests_total', { route: 'servers[0].routes[1] /gz/', status_class: '2xx' }), sent.gz);
  assert.equal(delta('portico_requests_total', { route: 'servers[0].routes[2] /old', status_class: '3xx' }), sent.redirect);
  assert.equal(delta('portico_requests_total', { route: '-', status_class: '4xx' }), sent.noRoute + sent.badHost);
});

test('compression: bytes before and after by coding, and the route counts the compressed bytes it sent', async (t) => {
  // Text that compresses, different in each line so the ratio is not trivial.
  const text = Array.from({ length: 400 }, (_, i) => `line ${i}: ${'abc'.repeat(i % 7)} portico\n`).join('');
  const p = await startAdminPortico({
    servers: [{ routes: [{ path: '/', respond: { status: 200, body: text }, compress: { codings: ['gzip', 'br'] } }] }],
  });
  t.after(() => p.close());
  const before = await scrape(p.admin);
  const received = { gzip: 0, br: 0 };
  const K = 6;
  for (let i = 0; i < K; i++) {
    const gz = await get(p.port, '/', { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.encoding, 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), text);
    received.gzip += gz.body.length;
    const br = await get(p.port, '/', { 'Accept-Encoding': 'br' });
    assert.equal(br.encoding, 'br');
    assert.equal(brotliDecompressSync(br.body).toString(), text);
    received.br += br.body.length;
  }
  // Not compressed (no Accept-Encoding): not in the compression counters.
  const plain = await get(p.port, '/');
  assert.equal(plain.encoding, undefined);
  const after = await scrape(p.admin);
  const delta = (name: string, match: Record<string, string> = {}) => total(after, name, match) - total(before, name, match);
  const length = Buffer.byteLength(text);
  for (const coding of ['gzip', 'br'] as const) {
    assert.equal(delta('portico_compressed_responses_total', { coding }), K, coding);
    assert.equal(delta('portico_compression_input_bytes_total', { coding }), K * length, coding);
    assert.equal(delta('portico_compression_output_bytes_total', { coding }), received[coding], coding);
  }
  assert.ok(received.gzip < K * length / 2, 'compressed');
  // What left through the route: the compressed bodies and the plain one.
  assert.equal(delta('portico_response_body_bytes_total', { route: 'servers[0].routes[0] /' }), received.gzip + received.br + length);
});
