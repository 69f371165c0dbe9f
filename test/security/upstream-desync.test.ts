// Issue 12, item 3: one upstream connection is never handed to two requests. Bytes after a
// complete response (a HEAD answered with a body, as gunicorn's threaded workers do; a 204 or
// 304 with a body; data beyond Content-Length or after the last chunk) close the connection
// instead of being read as the next response, and a connection goes back to its pool at most
// once per response. The recording origin shows what reached the app server on which
// connection; every request carries an id its answer must echo. The pool-level cases run on
// both upstream clients (node's parser, and the undici fallback: upstream/pool.ts chooses one
// at start); the cases through Portico run on whichever this process chose (npm test runs them
// again with the fallback forced).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { startPortico } from '../helpers/portico.js';
import { jsonAnswer, startRecordingOrigin, type OriginRequest, type RecordingOrigin } from '../helpers/recording-origin.js';
import { prepareDjango, startGunicorn } from '../helpers/django.js';
import { within } from '../proxy/support.js';
import { H1Pool } from '../../src/upstream/h1/pool.js';
import { UndiciPool } from '../../src/upstream/undici/pool.js';
import type { Transport } from '../../src/upstream/transport.js';
import type { ResponseSink, UpstreamError, UpstreamExchangeControl, UpstreamPool } from '../../src/upstream/h1/types.js';
import type { ConnectionPool, PoolOptions, PooledConnection } from '../../src/upstream/connection-pool.js';

/** A complete response naming a target no client asked for: what a desync would deliver. */
const SMUGGLED_BODY = '{"target":"/smuggled"}';
const SMUGGLED = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${SMUGGLED_BODY.length}\r\n\r\n${SMUGGLED_BODY}`;

function tcp(port: number): Transport {
  const authority = `127.0.0.1:${port}`;
  return { key: authority, address: authority, ready: 'connect', authority, dial: (): Socket => connect({ host: '127.0.0.1', port }) };
}

/** A connection of either client: what the pool hands out, and what it binds to the sink. */
type Connection = PooledConnection & UpstreamExchangeControl;

/** Both upstream clients (upstream/pool.ts picks one at start): each keeps every invariant here. */
const CLIENTS: [string, new (transport: Transport, options: PoolOptions) => ConnectionPool<Connection>][] = [
  ['node', H1Pool],
  ['undici', UndiciPool],
];

interface Received {
  status: number;
  body: string;
  error: UpstreamError | null;
  /** The connection that carried it (each client binds its connection object). */
  conn: Connection;
}

/** One request through the pool, collected by a plain sink. */
function send(pool: UpstreamPool, method: string, path: string): Promise<Received> {
  return within(
    new Promise<Received>((resolve) => {
      let conn: UpstreamExchangeControl | null = null;
      let status = 0;
      const chunks: Buffer[] = [];
      const sink: ResponseSink = {
        bind: (c) => (conn = c),
        onHeaders: (s) => (status = s),
        onData: (c) => chunks.push(Buffer.from(c)) > 0,
        onEnd: () => resolve({ status, body: Buffer.concat(chunks).toString(), error: null, conn: conn as Connection }),
        onError: (err) => resolve({ status, body: '', error: err, conn: conn as Connection }),
      };
      pool.request({ method, path, headers: ['Host', 'origin'], body: null, chunked: false, readTimeout: 10_000 }, sink);
    }),
    15_000,
    `${method} ${path} through the pool`,
  );
}

const target = (r: Received) => (JSON.parse(r.body) as { target: string }).target;

/**
 * Answers for /first that leave bytes behind the response (`later`: in a second write, after the
 * response went through); every other request gets jsonAnswer.
 */
const LEFTOVERS: Record<string, { method: string; answer: string; later?: string; status: number }> = {
  'HEAD answered with a body': { method: 'HEAD', answer: `HTTP/1.1 200 OK\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, status: 200 },
  'HEAD answered with a body in a second write (gunicorn)': {
    method: 'HEAD',
    answer: `HTTP/1.1 200 OK\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n`,
    later: SMUGGLED,
    status: 200,
  },
  '204 announcing a body it sends in a second write': {
    method: 'GET',
    answer: `HTTP/1.1 204 No Content\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n`,
    later: SMUGGLED,
    status: 204,
  },
  '204 with a body': { method: 'GET', answer: `HTTP/1.1 204 No Content\r\n\r\n${SMUGGLED}`, status: 204 },
  '304 with a body': { method: 'GET', answer: `HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n${SMUGGLED}`, status: 304 },
  'Content-Length: 0 with a body': { method: 'GET', answer: `HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n${SMUGGLED}`, status: 200 },
  'bytes beyond Content-Length': { method: 'GET', answer: `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok${SMUGGLED}`, status: 200 },
  'a response after the last chunk': { method: 'GET', answer: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n${SMUGGLED}`, status: 200 },
  'an empty line after the last chunk': { method: 'GET', answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n\r\n', status: 200 },
  'an empty line after a chunked body with trailers': {
    method: 'GET',
    answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n\r\n',
    status: 200,
  },
};

/**
 * Leftovers undici's parser consumes as nothing: llhttp skips empty lines before a message, and
 * undici reads them with the response, so no byte of them is left for another request and the
 * connection is kept (node's parser client closes it: it counts them, crlfTail in h1/connection.ts).
 */
const EMPTY_LINES = new Set(['an empty line after the last chunk', 'an empty line after a chunked body with trailers']);

for (const [client, Pool] of CLIENTS)
for (const [name, leftover] of Object.entries(LEFTOVERS)) {
  const kept = client === 'undici' && EMPTY_LINES.has(name);
  test(`${client}: ${name}: the next queued request gets its own response, on ${kept ? 'the same connection (empty lines only)' : 'a new connection'}`, async (t) => {
    const origin = await startRecordingOrigin((req, socket) => {
      if (req.target !== '/first') return jsonAnswer(req);
      // The second write comes once the first was read (no timing is asserted: with or without
      // the pause the second request must get its own response).
      if (leftover.later !== undefined) setTimeout(() => socket.write(leftover.later!), 50);
      return leftover.answer;
    });
    t.after(() => origin.close());
    // One connection at most: the second request waits for the first one's connection.
    const pool = new Pool(tcp(origin.port), { connectTimeout: 5000, keepAliveTimeout: 5000, maxConnections: 1 });
    t.after(() => pool.destroy());
    const [first, second] = await Promise.all([send(pool, leftover.method, '/first'), send(pool, 'GET', '/second')]);
    assert.equal(first.error, null);
    assert.equal(first.status, leftover.status);
    assert.equal(second.error, null, `second request failed: ${second.error?.message}`);
    assert.equal(target(second), '/second');
    if (kept) assert.equal(second.conn, first.conn);
    else assert.notEqual(second.conn, first.conn, 'the connection with leftover bytes was reused');
    assert.deepEqual(
      origin.requests.map((r) => [r.target, r.connection]),
      [
        ['/first', 0],
        ['/second', kept ? 0 : 1],
      ],
    );
  });
}

for (const [client, Pool] of CLIENTS)
test(`${client}: clean responses: the connection is reused by the next queued request (the control case)`, async (t) => {
  const origin = await startRecordingOrigin((req, socket) => {
    if (req.method === 'HEAD') return 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    if (req.target === '/204') return 'HTTP/1.1 204 No Content\r\n\r\n';
    if (req.target === '/chunked') return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n';
    if (req.target === '/split') {
      // The last empty line alone in a second write: the end is counted over both reads.
      setTimeout(() => socket.write('\r\n'), 50);
      return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n';
    }
    return jsonAnswer(req);
  });
  t.after(() => origin.close());
  const pool = new Pool(tcp(origin.port), { connectTimeout: 5000, keepAliveTimeout: 5000, maxConnections: 1 });
  t.after(() => pool.destroy());
  const all = await Promise.all([
    send(pool, 'GET', '/first'),
    send(pool, 'HEAD', '/head'),
    send(pool, 'GET', '/204'),
    send(pool, 'GET', '/chunked'),
    send(pool, 'GET', '/split'),
    send(pool, 'GET', '/last'),
  ]);
  assert.deepEqual(
    all.map((r) => [r.status, r.error]),
    [200, 200, 204, 200, 200, 200].map((s) => [s, null]),
  );
  assert.deepEqual([target(all[0]!), all[3]!.body, all[4]!.body, target(all[5]!)], ['/first', 'ok', 'ok', '/last']);
  assert.ok(all.every((r) => r.conn === all[0]!.conn));
  assert.equal(origin.sockets.length, 1);
  assert.deepEqual(pool.stats, { open: 1, idle: 1, waiting: 0 });
});

for (const [client, Pool] of CLIENTS)
test(`${client}: release and forget are idempotent: a connection is pooled once and counted once`, async (t) => {
  const origin = await startRecordingOrigin();
  t.after(() => origin.close());
  const pool = new Pool(tcp(origin.port), { connectTimeout: 5000, keepAliveTimeout: 5000, maxConnections: 4 });
  t.after(() => pool.destroy());
  const first = await send(pool, 'GET', '/one');
  assert.deepEqual(pool.stats, { open: 1, idle: 1, waiting: 0 });
  // A second hand-back of the same connection (what a double completion did) changes nothing...
  pool.release(first.conn);
  pool.release(first.conn);
  assert.deepEqual(pool.stats, { open: 1, idle: 1, waiting: 0 });
  // ...so two concurrent requests get two connections, not the same one twice.
  const [a, b] = await Promise.all([send(pool, 'GET', '/a'), send(pool, 'GET', '/b')]);
  assert.deepEqual([target(a), target(b)], ['/a', '/b']);
  assert.notEqual(a.conn, b.conn);
  assert.equal(origin.sockets.length, 2);
  // A connection that is gone is forgotten once; releasing it does not bring it back.
  a.conn.destroy();
  pool.forget(a.conn);
  pool.release(a.conn);
  assert.deepEqual(pool.stats, { open: 1, idle: 1, waiting: 0 });
});

for (const [client, Pool] of CLIENTS)
test(`${client}: a connection refuses a second request while it carries one`, async (t) => {
  const origin = await startRecordingOrigin((req, socket) => void setTimeout(() => socket.write(jsonAnswer(req)), 20));
  t.after(() => origin.close());
  const pool = new Pool(tcp(origin.port), { connectTimeout: 5000, keepAliveTimeout: 5000, maxConnections: 1 });
  t.after(() => pool.destroy());
  let conn: Connection | undefined;
  const first = new Promise<Received>((resolve) => {
    let status = 0;
    const chunks: Buffer[] = [];
    pool.request(
      { method: 'GET', path: '/first', headers: ['Host', 'origin'], body: null, chunked: false, readTimeout: 10_000 },
      {
        bind: (c) => (conn = c as Connection),
        onHeaders: (s) => (status = s),
        onData: (c) => chunks.push(Buffer.from(c)) > 0,
        onEnd: () => resolve({ status, body: Buffer.concat(chunks).toString(), error: null, conn: conn! }),
        onError: (err) => resolve({ status, body: '', error: err, conn: conn! }),
      },
    );
  });
  assert.equal(conn!.state, 'busy');
  const refused = await new Promise<UpstreamError>((resolve) =>
    conn!.send(
      { method: 'GET', path: '/second', headers: ['Host', 'origin'], body: null, chunked: false, readTimeout: 10_000 },
      { bind: () => {}, onHeaders: () => {}, onData: () => true, onEnd: () => {}, onError: (err) => resolve(err) },
    ),
  );
  assert.equal(refused.code, 'BUSY');
  assert.equal(target(await within(first, 10_000, 'the first response')), '/first');
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    ['/first'],
  );
});

/**
 * An origin answering after a tick (so a second request on a connection before its answer shows
 * as an overlap), with the leftovers above chosen by the path: /KIND/ID.
 */
async function misbehavingOrigin(): Promise<RecordingOrigin & { overlaps: string[] }> {
  const overlaps: string[] = [];
  const busy = new Map<number, string>();
  const origin = await startRecordingOrigin((req: OriginRequest, socket: Socket) => {
    const before = busy.get(req.connection);
    if (before !== undefined) overlaps.push(`${req.target} arrived on connection ${req.connection} while ${before} was unanswered`);
    busy.set(req.connection, req.target);
    const [, kind, id] = req.target.split('/') as [string, string, string];
    const body = JSON.stringify({ target: req.target, id });
    const own = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    let out: string;
    if (kind === 'head') out = `HTTP/1.1 200 OK\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`;
    else if (kind === 'no-content') out = `HTTP/1.1 204 No Content\r\n\r\n${SMUGGLED}`;
    else if (kind === 'extra') out = own + SMUGGLED;
    else if (kind === 'chunked') out = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n${SMUGGLED}`;
    else out = own;
    setImmediate(() => {
      busy.delete(req.connection);
      // One write: the leftover arrives with the response it follows.
      if (!socket.destroyed) socket.write(out);
    });
  });
  return Object.assign(origin, { overlaps });
}

interface ClientResult {
  status: number;
  body: string;
}

function get(agent: Agent, port: number, method: string, path: string): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function idOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { id?: string }).id;
  } catch {
    return undefined;
  }
}

const KINDS = ['clean', 'head', 'no-content', 'extra', 'chunked', 'clean'] as const;

test('under concurrency: no upstream connection carries two requests at once, every client gets its own answer', async (t) => {
  const origin = await misbehavingOrigin();
  t.after(() => origin.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: origin.address, keepalive_connections: 4 } }] }] });
  t.after(() => portico.close());
  const agent = new Agent({ keepAlive: true, maxSockets: 24 });
  t.after(() => agent.destroy());
  const TOTAL = 480;
  const wrong: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < TOTAL) {
      const id = next++;
      const kind = KINDS[id % KINDS.length]!;
      const method = kind === 'head' ? 'HEAD' : 'GET';
      const r = await get(agent, portico.port, method, `/${kind}/${id}`);
      const expected = kind === 'no-content' ? 204 : 200;
      if (r.status !== expected) wrong.push(`${method} /${kind}/${id}: status ${r.status} ${r.body.slice(0, 80)}`);
      else if (method === 'HEAD' || kind === 'no-content') {
        if (r.body !== '') wrong.push(`${method} /${kind}/${id}: a body ${r.body.slice(0, 80)}`);
      } else if (idOf(r.body) !== String(id)) wrong.push(`GET /${kind}/${id}: got ${r.body.slice(0, 120)}`);
    }
  };
  await within(Promise.all(Array.from({ length: 24 }, worker)), 60_000, `${TOTAL} requests`);
  assert.deepEqual(wrong, []);
  assert.deepEqual(origin.overlaps, []);
  assert.deepEqual(origin.unframed, []);
  assert.equal(origin.requests.length, TOTAL);
  // Connections were reused (the clean answers), and never past a leftover.
  assert.ok(origin.sockets.length < TOTAL, `${origin.sockets.length} upstream connections for ${TOTAL} requests`);
  for (const r of origin.requests) {
    const kind = r.target.split('/')[1];
    if (kind === 'clean') continue;
    const later = origin.requests.find((o) => o.connection === r.connection && o.indexOnConnection === r.indexOnConnection + 1);
    assert.equal(later, undefined, `connection ${r.connection} carried ${later?.target} after ${r.target}`);
  }
});

test('real gunicorn (threaded, keep-alive) + Django: concurrent HEADs and GETs, every GET gets its own body', async (t) => {
  const prepared = await prepareDjango();
  t.after(() => prepared.cleanup());
  // gthread workers keep connections alive and, like every gunicorn worker, send a HEAD's body.
  const gunicorn = await startGunicorn(prepared, { workers: 2, threads: 4 });
  t.after(() => gunicorn.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: gunicorn.address, keepalive_connections: 4 } }] }] });
  t.after(() => portico.close());
  const agent = new Agent({ keepAlive: true, maxSockets: 12 });
  t.after(() => agent.destroy());
  const TOTAL = 240;
  const wrong: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < TOTAL) {
      const id = next++;
      if (id % 2 === 0) {
        // Django's admin login page answers HEAD with its whole page (a class-based view's get()).
        const r = await get(agent, portico.port, 'HEAD', `/admin/login/?next=/h${id}`);
        if (r.status !== 200 || r.body !== '') wrong.push(`HEAD ${id}: ${r.status} ${r.body.slice(0, 80)}`);
      } else {
        const r = await get(agent, portico.port, 'GET', `/api/whoami/?id=${id}`);
        const path = r.status === 200 ? (JSON.parse(r.body) as { path: string }).path : '';
        if (path !== `/api/whoami/?id=${id}`) wrong.push(`GET ${id}: ${r.status} ${r.body.slice(0, 120)}`);
      }
    }
  };
  await within(Promise.all(Array.from({ length: 12 }, worker)), 90_000, `${TOTAL} requests to Django`);
  assert.deepEqual(wrong, []);
});
