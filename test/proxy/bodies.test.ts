/**
 * Message bodies through the proxy: no body where HTTP forbids one (HEAD, 204, 304: checked
 * on the raw bytes, since a stray body would corrupt the next response on the connection),
 * request bodies intact with Content-Length or chunked, Expect: 100-continue, and a large
 * response streamed with backpressure to a slow reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { RawClient, all, delay, json, one, rawRequest, rawValues, within } from './support.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function proxied(handler?: Parameters<typeof startUpstream>[0], proxyExtra: Record<string, unknown> = {}) {
  const upstream = await startUpstream(handler);
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address, proxyExtra) }] }] });
  return { upstream, portico, close: () => Promise.all([portico.close(), upstream.close()]) };
}

test('HEAD: headers only, and the next response on the connection parses', async (t) => {
  const { portico, upstream, close } = await proxied((req, res) => {
    const body = JSON.stringify({ method: req.method, url: req.url });
    // What a GET would carry: Portico must keep the length and send no body.
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 42 });
    res.end(req.method === 'HEAD' ? undefined : body.padEnd(42));
  });
  t.after(close);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());

  // Pipelined: a body after the HEAD response would be read as the next status line.
  client.write('HEAD /head HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
  const head = await client.response({ head: true });
  assert.equal(head.status, 200);
  assert.equal(one(head, 'content-length'), '42');
  assert.deepEqual(all(head, 'transfer-encoding'), []);
  const next = await client.response();
  assert.equal(next.status, 200);
  assert.equal(json(next).url, '/next');
  assert.equal(json(next).method, 'GET');
  assert.deepEqual(upstream.seen.map((s) => s.method), ['HEAD', 'GET']);
  assert.equal(client.buf.length, 0, 'no stray bytes');
});

for (const status of [204, 304]) {
  test(`${status}: no body bytes and no chunked framing`, async (t) => {
    const { portico, close } = await proxied((req, res) => {
      if (req.url === '/next') return void res.end('after');
      res.writeHead(status, { ETag: '"v1"', 'Cache-Control': 'max-age=60' });
      res.end();
    });
    t.after(close);
    const client = await RawClient.connect(portico.port);
    t.after(() => client.destroy());

    client.write('GET /empty HTTP/1.1\r\nHost: a\r\n\r\n');
    const res = await client.response();
    assert.equal(res.status, status);
    assert.equal(one(res, 'etag'), '"v1"');
    assert.deepEqual(all(res, 'transfer-encoding'), []);
    assert.ok(['0', undefined].includes(one(res, 'content-length')), `content-length ${one(res, 'content-length')}`);
    client.write('GET /next HTTP/1.1\r\nHost: a\r\n\r\n');
    const next = await client.response();
    assert.equal(next.status, 200);
    assert.equal(next.body.toString(), 'after');
    assert.equal(client.buf.length, 0, 'no stray bytes');
  });
}

function hashingUpstream(proxyExtra: Record<string, unknown> = {}) {
  return proxied((req, res, body) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(
      JSON.stringify({ sha: sha256(body), length: body.length, te: req.headers['transfer-encoding'] ?? null, cl: req.headers['content-length'] ?? null }),
    );
  }, proxyExtra);
}

test('POST with Content-Length: a few MiB arrive intact', async (t) => {
  const { portico, upstream, close } = await hashingUpstream();
  t.after(close);
  const body = randomBytes(3 * 1024 * 1024 + 17);
  const res = await within(
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = request(`${portico.url}/upload`, { method: 'POST', agent: false, headers: { 'Content-Length': body.length } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode!, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(body);
    }),
    20_000,
    'upload',
  );
  assert.equal(res.status, 200);
  assert.deepEqual(json(res), { sha: sha256(body), length: body.length, te: null, cl: String(body.length) });
  assert.deepEqual(rawValues(upstream.seen[0]!.rawHeaders, 'content-length'), [String(body.length)]);
});

for (const [buffering, expected] of [
  [true, 'de-chunked: sent upstream with Content-Length (request buffering, the default)'],
  [false, 'streamed upstream chunked (buffering: false)'],
] as const)
test(`chunked POST: a few MiB in uneven chunks arrive intact, ${expected}`, async (t) => {
  const { portico, close } = await hashingUpstream({ buffering });
  t.after(close);
  const body = randomBytes(2 * 1024 * 1024 + 333);
  const res = await within(
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = request(`${portico.url}/upload`, { method: 'POST', agent: false }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode!, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      void (async () => {
        for (let at = 0, n = 1; at < body.length; n = (n * 7 + 13) % 200_000 + 1) {
          const piece = body.subarray(at, at + n);
          at += piece.length;
          if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })();
    }),
    20_000,
    'chunked upload',
  );
  assert.equal(res.status, 200);
  const te = buffering ? null : 'chunked';
  const cl = buffering ? String(body.length) : null;
  assert.deepEqual(json(res), { sha: sha256(body), length: body.length, te, cl });
});

test('Expect: 100-continue: the client gets 100 Continue, then the response', async (t) => {
  const { portico, upstream, close } = await hashingUpstream();
  t.after(close);
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());

  const body = Buffer.from('the body after the 100');
  client.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
  const interim = await client.response();
  assert.equal(interim.status, 100);
  client.write(body);
  const res = await client.response();
  assert.equal(res.status, 200);
  assert.deepEqual(json(res), { sha: sha256(body), length: body.length, te: null, cl: String(body.length) });
  assert.deepEqual(rawValues(upstream.seen[0]!.rawHeaders, 'expect'), []);
});

test('buffering.response false: a 20 MiB response streams with backpressure to a slow reader, intact', async (t) => {
  const SIZE = 20 * 1024 * 1024;
  const big = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4) big.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);
  let upstreamDone = false;
  const { portico, close } = await proxied((_req, res) => {
    res.setHeader('Content-Length', SIZE);
    res.on('finish', () => (upstreamDone = true));
    let at = 0;
    const pump = () => {
      while (at < SIZE) {
        const piece = big.subarray(at, at + 64 * 1024);
        at += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  }, { buffering: { response: false } });
  t.after(close);

  const got = await within(
    new Promise<Buffer>((resolve, reject) => {
      const req = request(`${portico.url}/big`, { agent: false }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['content-length'], String(SIZE));
        const chunks: Buffer[] = [];
        res.once('data', (first: Buffer) => {
          chunks.push(first);
          res.pause();
          void (async () => {
            // Reading nothing for a while: kernel buffers hold a few MiB, never 20, so the
            // upstream must still be blocked if Portico passed the backpressure on.
            await delay(400);
            assert.equal(upstreamDone, false, 'the upstream finished while the client read nothing: Portico buffered the response');
            res.on('data', (c: Buffer) => {
              chunks.push(c);
              // A slow reader: a short pause every ~1 MiB.
              if (chunks.length % 16 === 0) {
                res.pause();
                setTimeout(() => res.resume(), 5);
              }
            });
            res.on('end', () => resolve(Buffer.concat(chunks)));
            res.resume();
          })().catch(reject);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    60_000,
    'the large response',
  );
  assert.equal(got.length, SIZE);
  assert.equal(sha256(got), sha256(big));
});

test('HTTP/1.0 without Host: the upstream gets its own address as Host and the response arrives', async (t) => {
  const { portico, upstream, close } = await proxied();
  t.after(close);
  const res = await rawRequest(portico.port, 'GET /old-client HTTP/1.0\r\n\r\n');
  assert.equal(res.status, 200);
  assert.equal(json(res).url, '/old-client');
  assert.equal(upstream.seen[0]!.headers.host, upstream.address);
  assert.equal(upstream.seen[0]!.headers['x-forwarded-host'], undefined);
});

test('a pooled upstream connection that carried a response to a slow reader serves the next request', async (t) => {
  const big = randomBytes(4 * 1024 * 1024);
  const upstream = await startUpstream((req, res) => {
    if (req.url === '/big') return res.end(big);
    res.end('next');
  });
  // One upstream connection: the second request must reuse the first one's.
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', proxy: { to: upstream.address, keepalive_connections: 1 } }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const slow = await new Promise<Buffer>((resolve, reject) => {
    request({ host: '127.0.0.1', port: portico.port, path: '/big' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        // Read in small sips, so Portico keeps finding the client's socket full.
        res.pause();
        setTimeout(() => res.resume(), 2);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    }).end();
  });
  assert.equal(sha256(slow), sha256(big));
  const next = await within(
    new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port: portico.port, path: '/next' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    }),
    5000,
    'the second request on the reused upstream connection',
  );
  assert.equal(next, 'next');
  assert.equal(new Set(upstream.seen.map((r) => r.remotePort)).size, 1, 'both requests used one upstream connection');
});
