// Issue 13, item 4: the two upstream HTTP/1.1 clients side by side, at the pool level, whatever
// this process chose at start. node's parser client (h1/) and the undici fallback (undici/) get
// the same requests from the same origins; each answer, each failure (as the UpstreamError code
// and what proxy/upstream-error.ts makes of it) and what reached the origin must be the same.
// Where they differ by design (docs/differences.md), the test says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { H1Pool } from '../../src/upstream/h1/pool.js';
import { UndiciPool } from '../../src/upstream/undici/pool.js';
import { transportFor, type Transport } from '../../src/upstream/transport.js';
import { parseUpstream } from '../../src/config/address.js';
import type { PoolOptions } from '../../src/upstream/connection-pool.js';
import type { ResponseSink, UpstreamError, UpstreamExchangeControl, UpstreamPool, UpstreamRequest } from '../../src/upstream/h1/types.js';
import { classifyUpstreamError } from '../../src/proxy/upstream-error.js';
import { jsonAnswer, startRecordingOrigin, type OriginRequest } from '../helpers/recording-origin.js';
import { closedPort, startRawUpstream, within } from '../proxy/support.js';

const CLIENTS: [string, new (transport: Transport, options: PoolOptions) => UpstreamPool][] = [
  ['node', H1Pool],
  ['undici', UndiciPool],
];

const OPTIONS: PoolOptions = { connectTimeout: 5000, keepAliveTimeout: 5000, maxConnections: 4 };

function tcp(port: number): Transport {
  const authority = `127.0.0.1:${port}`;
  return { key: authority, address: authority, ready: 'connect', authority, dial: (): Socket => connect({ host: '127.0.0.1', port }) };
}

interface Outcome {
  status: number;
  headers: string[];
  body: string;
  error: { code: string; message: string; status: number; cause: string; retryable: boolean } | null;
  connected: boolean;
  bodyTouched: boolean;
}

/** One request through `pool`; resolves once the sink heard onEnd or onError. */
function exchange(pool: UpstreamPool, req: Partial<UpstreamRequest> & { path: string }, sinkOverride: Partial<ResponseSink> = {}): Promise<Outcome> {
  return within(
    new Promise<Outcome>((resolve) => {
      let control: UpstreamExchangeControl | null = null;
      const out: Outcome = { status: 0, headers: [], body: '', error: null, connected: false, bodyTouched: false };
      const chunks: Buffer[] = [];
      const settle = () => {
        out.body = Buffer.concat(chunks).toString('latin1');
        out.connected = control?.connected ?? false;
        out.bodyTouched = control?.bodyTouched ?? false;
        resolve(out);
      };
      pool.request(
        { method: 'GET', headers: ['Host', 'origin.test'], body: null, chunked: false, readTimeout: 10_000, ...req },
        {
          bind: (c) => (control = c),
          onHeaders: (status, _text, headers) => {
            out.status = status;
            out.headers = headers;
          },
          onData: (c) => chunks.push(Buffer.from(c)) > 0,
          onEnd: settle,
          onError: (err: UpstreamError, retryable) => {
            const failure = classifyUpstreamError(err);
            out.error = { code: err.code, message: err.message, status: failure.status, cause: failure.cause, retryable };
            settle();
          },
          ...sinkOverride,
        },
      );
    }),
    20_000,
    `${req.method ?? 'GET'} ${req.path}`,
  );
}

/** The same scenario on both clients: the outcomes and what reached the origin, per client. */
async function both<T>(run: (Pool: (typeof CLIENTS)[number][1], client: string) => Promise<T>): Promise<Record<string, T>> {
  const out: Record<string, T> = {};
  for (const [client, Pool] of CLIENTS) out[client] = await run(Pool, client);
  return out;
}

function header(headers: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) out.push(headers[i + 1]!);
  return out;
}

function originHeader(r: OriginRequest, name: string): string[] {
  return r.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

const ANSWERS: Record<string, { method?: string; answer: string; status: number; body: string }> = {
  'Content-Length body': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello', status: 200, body: 'hello' },
  'chunked body with trailers (ignored)': {
    answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\nX-Trailer: 1\r\n\r\n',
    status: 200,
    body: 'hello',
  },
  'body delimited by the connection closing': { answer: 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close', status: 200, body: 'until close' },
  'HTTP/1.0 response': { answer: 'HTTP/1.0 200 OK\r\n\r\nold', status: 200, body: 'old' },
  HEAD: { method: 'HEAD', answer: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', status: 200, body: '' },
  '204': { answer: 'HTTP/1.1 204 No Content\r\n\r\n', status: 204, body: '' },
  '204 announcing a length': { answer: 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n', status: 204, body: '' },
  '304 with the Content-Length of the representation (RFC 9110 §8.6)': { answer: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: "x"\r\n\r\n', status: 304, body: '' },
  '103 Early Hints, then the response': { answer: 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', status: 200, body: 'ok' },
  '102 Processing, then the response': { answer: 'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok', status: 201, body: 'ok' },
  'more than 32 header fields': {
    answer: `HTTP/1.1 200 OK\r\n${Array.from({ length: 40 }, (_, i) => `X-Field-${i}: ${i}\r\n`).join('')}Content-Length: 2\r\n\r\nok`,
    status: 200,
    body: 'ok',
  },
};

for (const [name, spec] of Object.entries(ANSWERS)) {
  test(`both clients: ${name}`, async (t) => {
    const results = await both(async (Pool) => {
      const origin = await startRecordingOrigin((req, socket) => {
        if (req.target !== '/x') return jsonAnswer(req);
        if (/close|HTTP\/1\.0/.test(spec.answer)) setImmediate(() => socket.end());
        return spec.answer;
      });
      t.after(() => origin.close());
      const pool = new Pool(tcp(origin.port), OPTIONS);
      t.after(() => pool.destroy());
      const first = await exchange(pool, { method: spec.method ?? 'GET', path: '/x' });
      // The connection is usable afterwards (or was closed): the next request gets its own answer.
      const next = await exchange(pool, { path: '/next' });
      return { first, next: JSON.parse(next.body).target as string, origin: origin.requests.map((r) => [r.method, r.target]) };
    });
    for (const [client, r] of Object.entries(results)) {
      assert.equal(r.first.error, null, `${client}: ${r.first.error?.message}`);
      assert.equal(r.first.status, spec.status, client);
      assert.equal(r.first.body, spec.body, client);
      assert.equal(r.next, '/next', client);
    }
    // The same head (names and values as the upstream sent them), the same requests upstream.
    assert.deepEqual(results.undici!.first.headers, results.node!.first.headers);
    assert.deepEqual(results.undici!.origin, results.node!.origin);
  });
}

test('both clients: a 304 with a Content-Length, then a request on the same pool: nothing of it is read as the next answer', async (t) => {
  // undici counts the 304's Content-Length against a body it never has (an error it raises once
  // the message is complete); the connection is not reused after it, whatever the client.
  const results = await both(async (Pool) => {
    const origin = await startRecordingOrigin((req) => (req.target === '/304' ? 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n' : jsonAnswer(req)));
    t.after(() => origin.close());
    const pool = new Pool(tcp(origin.port), { ...OPTIONS, maxConnections: 1 });
    t.after(() => pool.destroy());
    const [a, b] = await Promise.all([exchange(pool, { path: '/304' }), exchange(pool, { path: '/after' })]);
    return { statuses: [a.status, b.status], after: JSON.parse(b.body).target as string, connections: origin.requests.map((r) => r.connection) };
  });
  for (const r of Object.values(results)) {
    assert.deepEqual(r.statuses, [304, 200]);
    assert.equal(r.after, '/after');
    assert.deepEqual(r.connections, [0, 1]);
  }
});

test('both clients: request bodies streamed with their length, or chunked without one, byte for byte', async (t) => {
  const big = Buffer.alloc(1024 * 1024 + 7, 'abcdefghij');
  const results = await both(async (Pool) => {
    const origin = await startRecordingOrigin();
    t.after(() => origin.close());
    const pool = new Pool(tcp(origin.port), OPTIONS);
    t.after(() => pool.destroy());
    const sized = await exchange(pool, {
      method: 'POST',
      path: '/sized',
      headers: ['Host', 'origin.test', 'Content-Length', String(big.length)],
      body: Readable.from([big.subarray(0, 1000), big.subarray(1000)], { objectMode: false }),
    });
    const chunkedBody = new PassThrough();
    const chunked = exchange(pool, { method: 'PUT', path: '/chunked', body: chunkedBody, chunked: true });
    chunkedBody.write('part one, ');
    setImmediate(() => chunkedBody.end('part two'));
    const out = await chunked;
    return {
      statuses: [sized.status, out.status],
      requests: origin.requests.map((r) => ({
        target: r.target,
        length: originHeader(r, 'content-length'),
        te: originHeader(r, 'transfer-encoding'),
        same: r.target === '/sized' ? r.body.equals(big) : r.body.toString() === 'part one, part two',
      })),
      unframed: origin.unframed,
    };
  });
  for (const r of Object.values(results)) {
    assert.deepEqual(r.statuses, [200, 200]);
    assert.deepEqual(r.unframed, []);
    assert.deepEqual(r.requests, [
      { target: '/sized', length: [String(big.length)], te: [], same: true },
      { target: '/chunked', length: [], te: ['chunked'], same: true },
    ]);
  }
});

test('both clients: a full sink pauses the upstream until resume(); the body arrives whole', async (t) => {
  const payload = Buffer.alloc(4 * 1024 * 1024, 'z');
  const results = await both(async (Pool) => {
    const origin = await startRecordingOrigin((req) => (req.target === '/big' ? Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\n\r\n`), payload]) : jsonAnswer(req)));
    t.after(() => origin.close());
    const pool = new Pool(tcp(origin.port), OPTIONS);
    t.after(() => pool.destroy());
    let control: UpstreamExchangeControl | null = null;
    let received = 0;
    let pauses = 0;
    let paused = false;
    const out = await exchange(
      pool,
      { path: '/big' },
      {
        bind: (c) => (control = c),
        // Every chunk says "full" and resumes a tick later: the client must wait for that.
        onData: (c) => {
          assert.equal(paused, false, 'data while paused');
          received += c.length;
          pauses++;
          paused = true;
          setImmediate(() => {
            paused = false;
            control!.resume();
          });
          return false;
        },
      },
    );
    return { status: out.status, error: out.error, received, paused: pauses > 1 };
  });
  for (const r of Object.values(results)) assert.deepEqual(r, { status: 200, error: null, received: payload.length, paused: true });
});

/** Failures: the same UpstreamError code, status and log cause from both clients. */
const FAILURES: Record<string, { origin: (socket: Socket) => void; readTimeout?: number; code: string; status: number }> = {
  'connection closed before any response': { origin: (s) => s.once('data', () => s.destroy()), code: 'CLOSED', status: 502 },
  'connection closed mid-body': { origin: (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')), code: 'CLOSED', status: 502 },
  'not a status line': { origin: (s) => s.once('data', () => s.write('XYZ 200 OK\r\nContent-Length: 2\r\n\r\nok')), code: 'BAD_RESPONSE', status: 502 },
  'an invalid Content-Length': { origin: (s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok')), code: 'BAD_RESPONSE', status: 502 },
  'a response head over 64 KiB': {
    origin: (s) => s.once('data', () => s.write(`HTTP/1.1 200 OK\r\n${'X-Big: ' + 'a'.repeat(70 * 1024)}\r\nContent-Length: 0\r\n\r\n`)),
    code: 'BAD_RESPONSE',
    status: 502,
  },
  'a 101 nobody asked for': { origin: (s) => s.once('data', () => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n')), code: 'BAD_RESPONSE', status: 502 },
  'no response head within read_timeout': { origin: () => {}, readTimeout: 300, code: 'READ_TIMEOUT', status: 504 },
  'a body stalled longer than read_timeout': { origin: (s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')), readTimeout: 300, code: 'READ_TIMEOUT', status: 504 },
};

for (const [name, spec] of Object.entries(FAILURES)) {
  test(`both clients fail alike: ${name} -> ${spec.code} (${spec.status})`, async (t) => {
    const results = await both(async (Pool) => {
      const origin = await startRawUpstream(spec.origin);
      t.after(() => origin.close());
      const pool = new Pool(tcp(origin.port), OPTIONS);
      t.after(() => pool.destroy());
      const out = await exchange(pool, { path: '/x', readTimeout: spec.readTimeout ?? 10_000 });
      return { error: out.error, connected: out.connected, open: pool.stats.open };
    });
    for (const [client, r] of Object.entries(results)) {
      assert.ok(r.error, `${client}: no error`);
      assert.equal(r.error.code, spec.code, `${client}: ${r.error.message}`);
      assert.equal(r.error.status, spec.status, client);
      assert.equal(r.error.retryable, false, client);
      assert.equal(r.connected, true, client);
      assert.equal(r.open, 0, `${client}: the failed connection is counted out`);
    }
    // The same words in the log line where the cause is the client's own wording.
    if (spec.code !== 'BAD_RESPONSE') assert.equal(results.undici!.error!.cause, results.node!.error!.cause);
  });
}

test('both clients: a refused connection fails before anything was sent; the body is untouched for another server', async (t) => {
  const port = await closedPort();
  const results = await both(async (Pool) => {
    const pool = new Pool(tcp(port), OPTIONS);
    t.after(() => pool.destroy());
    const body = new PassThrough();
    body.end('the whole body');
    const out = await exchange(pool, { method: 'POST', path: '/x', headers: ['Host', 'o', 'Content-Length', '14'], body });
    // Every byte is still there for the next try (balanced.ts sends the same stream elsewhere).
    const rest: Buffer[] = [];
    body.on('data', (c: Buffer) => rest.push(c));
    body.resume();
    await new Promise((r) => body.once('end', r));
    return { ...out.error, connected: out.connected, touched: out.bodyTouched, rest: Buffer.concat(rest).toString() };
  });
  for (const [client, r] of Object.entries(results)) {
    assert.deepEqual(
      { code: r.code, status: r.status, retryable: r.retryable, connected: r.connected, touched: r.touched, rest: r.rest },
      { code: 'ECONNREFUSED', status: 502, retryable: false, connected: false, touched: false, rest: 'the whole body' },
      client,
    );
  }
});

test('both clients: connect_timeout covers the TLS handshake -> CONNECT_TIMEOUT (504)', async (t) => {
  // A TCP server that accepts and never answers the TLS ClientHello.
  const silent = await startRawUpstream(() => {});
  t.after(() => silent.close());
  const address = parseUpstream(`https://127.0.0.1:${silent.port}`)!;
  const results = await both(async (Pool) => {
    const pool = new Pool(transportFor(address, { insecureSkipVerify: true, id: 'test' }), { ...OPTIONS, connectTimeout: 300 });
    t.after(() => pool.destroy());
    return (await exchange(pool, { path: '/x' })).error;
  });
  for (const [client, r] of Object.entries(results)) {
    assert.deepEqual([r?.code, r?.status, r?.cause, r?.retryable], ['CONNECT_TIMEOUT', 504, 'connect timeout', false], client);
  }
});

test('both clients: a keep-alive race (a reused connection dropped before any response byte) is retryable; a fresh one is not', async (t) => {
  const results = await both(async (Pool) => {
    // The first request on a connection is answered; the second one kills it unanswered.
    const origin = await startRawUpstream((s) => {
      let n = 0;
      s.on('data', () => {
        if (n++ === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else s.destroy();
      });
    });
    t.after(() => origin.close());
    const pool = new Pool(tcp(origin.port), OPTIONS);
    t.after(() => pool.destroy());
    const first = await exchange(pool, { path: '/1' });
    const raced = await exchange(pool, { path: '/2' });
    const fresh = await exchange(pool, { path: '/3' }, {}).then((o) => o);
    return { first: first.status, raced: [raced.error?.code, raced.error?.retryable], freshOk: fresh.status, connections: origin.sockets.length };
  });
  for (const [client, r] of Object.entries(results)) {
    assert.equal(r.first, 200, client);
    assert.equal(r.raced[1], true, `${client}: ${String(r.raced[0])} not retryable`);
    assert.ok(r.raced[0] === 'CLOSED' || r.raced[0] === 'ECONNRESET', `${client}: ${String(r.raced[0])}`);
    // The pool dialled anew for the third request (the raced connection is gone).
    assert.equal(r.freshOk, 200, client);
    assert.equal(r.connections, 2, client);
  }
});

test('both clients: fresh skips idle connections; cancel() removes a waiting request; stats count both', async (t) => {
  const results = await both(async (Pool) => {
    const origin = await startRecordingOrigin();
    t.after(() => origin.close());
    const pool = new Pool(tcp(origin.port), { ...OPTIONS, maxConnections: 1 });
    t.after(() => pool.destroy());
    await exchange(pool, { path: '/a' });
    const idle = { ...pool.stats };
    // A request beyond the limit waits; cancelled, it never reaches the origin.
    const held = exchange(pool, { path: '/b' });
    const sink: ResponseSink = { bind: () => {}, onHeaders: () => {}, onData: () => true, onEnd: () => {}, onError: () => {} };
    pool.request({ method: 'GET', path: '/cancelled', headers: ['Host', 'o'], body: null, chunked: false, readTimeout: 5000 }, sink);
    const waiting = pool.stats.waiting;
    pool.cancel(sink);
    await held;
    // fresh: a new connection although one is idle.
    await exchange(pool, { path: '/fresh' });
    const viaFresh = new Promise<void>((resolve) =>
      pool.request({ method: 'GET', path: '/c', headers: ['Host', 'o'], body: null, chunked: false, readTimeout: 5000 }, { ...sink, onEnd: resolve, onError: () => resolve() }, true),
    );
    await within(viaFresh, 10_000, 'the fresh request');
    return { idle, waiting, targets: origin.requests.map((r) => [r.target, r.connection]) };
  });
  for (const [client, r] of Object.entries(results)) {
    assert.deepEqual(r.idle, { open: 1, idle: 1, waiting: 0 }, client);
    assert.equal(r.waiting, 1, client);
    assert.deepEqual(
      r.targets,
      [
        ['/a', 0],
        ['/b', 0],
        ['/fresh', 0],
        ['/c', 1],
      ],
      client,
    );
  }
});

test('both clients: the request head as the origin reads it (method, target, fields in order, Host)', async (t) => {
  const results = await both(async (Pool) => {
    const origin = await startRecordingOrigin();
    t.after(() => origin.close());
    const pool = new Pool(tcp(origin.port), OPTIONS);
    t.after(() => pool.destroy());
    await exchange(pool, { method: 'DELETE', path: '/a/b?c=d%20e', headers: ['Host', 'app.test', 'X-One', '1', 'Cookie', 'a=b; c=d', 'X-Two', 'two words'] });
    const r = origin.requests[0]!;
    return { line: [r.method, r.target, r.version], fields: r.headers.filter(([n]) => !/^(connection|content-length)$/i.test(n)).map(([n, v]) => [n.toLowerCase(), v]) };
  });
  assert.deepEqual(results.undici, results.node);
  assert.deepEqual(results.node!.line, ['DELETE', '/a/b?c=d%20e', 'HTTP/1.1']);
});

test('undici only: an unasked-for 100 Continue is refused (502), where node\'s parser client skips it (docs/differences.md)', async (t) => {
  const results = await both(async (Pool) => {
    const origin = await startRawUpstream((s) => s.once('data', () => s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')));
    t.after(() => origin.close());
    const pool = new Pool(tcp(origin.port), OPTIONS);
    t.after(() => pool.destroy());
    const out = await exchange(pool, { path: '/x' });
    return { status: out.status, body: out.body, error: out.error && [out.error.code, out.error.status] };
  });
  assert.deepEqual(results.node, { status: 200, body: 'ok', error: null });
  assert.deepEqual(results.undici, { status: 0, body: '', error: ['BAD_RESPONSE', 502] });
});

test('both clients: header names and values reach the sink as the upstream sent them (case, order, repeats)', async (t) => {
  const answer = 'HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nX-MiXeD: Value\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n';
  const results = await both(async (Pool) => {
    const origin = await startRecordingOrigin(() => answer);
    t.after(() => origin.close());
    const pool = new Pool(tcp(origin.port), OPTIONS);
    t.after(() => pool.destroy());
    return (await exchange(pool, { path: '/x' })).headers;
  });
  assert.deepEqual(results.node, ['set-cookie', 'a=1', 'X-MiXeD', 'Value', 'Set-Cookie', 'b=2', 'Content-Length', '0']);
  assert.deepEqual(results.undici, results.node);
  assert.deepEqual(header(results.undici!, 'set-cookie'), ['a=1', 'b=2']);
});

test('both clients: a reason phrase reaches the sink as the bytes received (UTF-8 or not)', async (t) => {
  const phrases = { ascii: 'Not Quite OK', utf8: Buffer.from('Très bien', 'utf8').toString('latin1'), latin1: 'Tr\xe8s bien' };
  const results = await both(async (Pool) => {
    const out: Record<string, string> = {};
    for (const [name, phrase] of Object.entries(phrases)) {
      const origin = await startRawUpstream((s) => s.once('data', () => s.write(Buffer.from(`HTTP/1.1 200 ${phrase}\r\nContent-Length: 0\r\n\r\n`, 'latin1'))));
      t.after(() => origin.close());
      const pool = new Pool(tcp(origin.port), OPTIONS);
      t.after(() => pool.destroy());
      let text = '';
      await exchange(pool, { path: '/x' }, { onHeaders: (_s, statusText) => void (text = statusText) });
      out[name] = text;
    }
    return out;
  });
  assert.deepEqual(results.node, phrases);
  // undici decodes the phrase as UTF-8: bytes that are not UTF-8 are lost, the standard phrase
  // stands in (docs/differences.md).
  assert.deepEqual(results.undici, { ...phrases, latin1: 'OK' });
});
