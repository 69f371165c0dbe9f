/**
 * The one validating head serializer (src/http/head.ts) and the places that must not let an
 * invalid head out or throw: what it accepts and refuses (names, values, status and request
 * lines; U+010A, which latin1 would write as a bare LF), the upstream client refusing a
 * request head before a byte reaches the app server (a 500, not an upstream failure to
 * retry), send()/sendError() answering a refused head with a plain 500 and one log line and
 * never throwing (also on a response whose socket is gone), and the lean response refusing a
 * head without changing its state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { checkFields, fieldLines, HeadError, requestHead, responseHead } from '../../src/http/head.js';
import { H1Pool } from '../../src/upstream/h1/pool.js';
import { REQUEST_HEAD_REFUSED, type ResponseSink, type UpstreamError, type UpstreamRequest } from '../../src/upstream/h1/types.js';
import { Exchange } from '../../src/http/exchange.js';
import { NodeH1Writer } from '../../src/http/node-writers.js';
import { ErrorLog } from '../../src/log/error-log.js';
import { send, sendError } from '../../src/http/send.js';
import { LeanResponse } from '../../src/server/lean/lean-response.js';
import { startRecordingOrigin } from '../helpers/recording-origin.js';
import { rawRequest, within } from '../proxy/support.js';

const refused = (fn: () => unknown, what: string) => assert.throws(fn, (err: unknown) => err instanceof HeadError && err.code === 'ERR_INVALID_HEAD', what);

test('head.ts: token names, field values without CR, LF, NUL, other controls or characters above 0xFF', () => {
  assert.equal(fieldLines(['Host', 'a.test', 'X-Obs', 'caf\u00e9\tok']), 'Host: a.test\r\nX-Obs: caf\u00e9\tok\r\n');
  assert.equal(responseHead(200, 'OK', ['Content-Length', '0']), 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  assert.equal(requestHead('GET', '/a?b=c', ['Host', 'a'], 'Transfer-Encoding: chunked\r\n'), 'GET /a?b=c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
  for (const value of ['a\r\nX: y', 'a\nb', 'a\rb', 'a\0b', 'a\x01b', 'a\x7fb', '/a\u010d\u010aX: y']) {
    refused(() => fieldLines(['X-Uri', value]), JSON.stringify(value));
    refused(() => checkFields(['X-Uri', value]), JSON.stringify(value));
  }
  for (const name of ['', 'X Uri', 'X:Uri', 'X-Ur\u00ed', 'X\r\nY', 'X: y\r\nZ']) refused(() => fieldLines([name, 'v']), JSON.stringify(name));
  // fieldLines checks a block at once (one test and a line count): a field that smuggles a
  // whole valid line in, among valid fields, is still refused.
  refused(() => fieldLines(['Host', 'a', 'X-Uri', 'b\r\nX-Injected: 1', 'Accept', '*/*']), 'a line inside a value, among others');
  refused(() => fieldLines(['Content-Length', 5 as unknown as string]), 'a value that is not a string');
  refused(() => fieldLines(['X-Odd']), 'a name without a value');
  for (const [status, reason] of [[99, 'x'], [1000, 'x'], [200.5, 'x'], [200, 'O\r\nK']] as const) refused(() => responseHead(status, reason, []), `${status} ${JSON.stringify(reason)}`);
  for (const target of ['', '/a b', '/a\r\nX: y', '/a\tb', '/a\u010a']) refused(() => requestHead('GET', target, []), JSON.stringify(target));
  refused(() => requestHead('G T', '/', []), 'method');
});

/** A sink that records what the upstream client reports for one request. */
function recordingSink(): ResponseSink & { errors: [UpstreamError, boolean][]; done: Promise<void> } {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  const errors: [UpstreamError, boolean][] = [];
  return {
    errors,
    done,
    bind() {},
    onHeaders() {},
    onData: () => true,
    onEnd: () => settle(),
    onError(err, retryable) {
      errors.push([err, retryable]);
      settle();
    },
  };
}

test('the upstream client refuses an invalid request head: nothing reaches the app server, not retryable, the pool still works', async (t) => {
  const origin = await startRecordingOrigin();
  const pool = new H1Pool(
    { key: origin.address, address: origin.address, ready: 'connect', authority: origin.address, dial: () => connect({ host: '127.0.0.1', port: origin.port }) },
    { connectTimeout: 5000, keepAliveTimeout: 1500, maxConnections: 4 },
  );
  t.after(() => Promise.all([pool.destroy(), origin.close()]));
  const request = (path: string, headers: string[]): UpstreamRequest => ({ method: 'GET', path, headers: ['Host', 'a.test', ...headers], body: null, chunked: false, readTimeout: 5000 });
  // A good request first, so the bad ones meet a kept-alive connection too.
  const first = recordingSink();
  pool.request(request('/first', []), first);
  await within(first.done, 5000, 'the first response');
  for (const [path, headers] of [
    ['/x', ['X-Uri', '/a\r\nX: y']],
    ['/a\r\nX: y', []],
    ['/a b', []],
    ['/x', ['X-Uri', '/a\u010d\u010aX: y']],
  ] as const) {
    const sink = recordingSink();
    pool.request(request(path, [...headers]), sink);
    await within(sink.done, 5000, 'the refusal');
    assert.equal(sink.errors.length, 1, JSON.stringify(path));
    const [err, retryable] = sink.errors[0]!;
    assert.equal(err.code, REQUEST_HEAD_REFUSED);
    assert.equal(retryable, false);
  }
  const last = recordingSink();
  pool.request(request('/last', []), last);
  await within(last.done, 5000, 'the last response');
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    ['/first', '/last'],
  );
  assert.deepEqual(origin.unframed, []);
  assert.ok(!Buffer.concat(origin.received).toString('latin1').includes('X: y'), 'no byte of a refused head was written');
});

/** An ErrorLog whose lines land in `lines`. */
function capturingLog(): { log: ErrorLog; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = new ErrorLog('info');
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  (log as { logger: unknown }).logger = pino({ level: 'debug', base: undefined }, sink);
  return { log, lines };
}

test('send() and sendError() never throw: a refused head becomes a plain 500 and one log line; a response whose socket is gone is left alone', async (t) => {
  const { log, lines } = capturingLog();
  const thrown: unknown[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const ex = new Exchange(req, new NodeH1Writer(res, false), req, req.socket, '127.0.0.1', '127.0.0.1', 'http', false, 0, 'a.test', req.url!, req.url!, '');
    ex.errorLog = log;
    ex.routeName = 'test route';
    try {
      if (req.url === '/send') send(ex, 302, ['Location', '/a\r\nX: y', 'Content-Length', '0'], '');
      else if (req.url === '/error') sendError(ex, 429, ['Retry-After', '1\r\nX: y']);
      else if (req.url === '/gone') {
        req.socket.destroy();
        sendError(ex, 502);
        send(ex, 200, ['X-Bad', 'a\nb'], 'x');
      }
    } catch (err) {
      thrown.push(err);
      res.destroy();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  for (const path of ['/send', '/error']) {
    const res = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
    assert.equal(res.status, 500, path);
    assert.equal(res.reason, 'Internal Server Error', path);
    assert.equal(res.body.toString(), '500 Internal Server Error\n');
    assert.ok(!res.raw.toString('latin1').includes('X: y'), path);
  }
  const gone = connect({ host: '127.0.0.1', port });
  gone.on('error', () => {});
  gone.end('GET /gone HTTP/1.1\r\nHost: a.test\r\n\r\n');
  await within(once(gone, 'close'), 5000, 'the closed connection');
  assert.deepEqual(thrown, []);
  assert.deepEqual(
    lines.map((l) => [l.msg, l.route, l.status]),
    [
      ['response head refused', 'test route', 302],
      ['response head refused', 'test route', 429],
    ],
  );
});

test('the lean response refuses a bad head before changing its state, and then answers a plain 500', async (t) => {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  const [socket] = await accepted;
  t.after(() => {
    client.destroy();
    socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  let received = '';
  client.on('data', (d: Buffer) => (received += d.toString('latin1')));
  const owner = { keepAliveHeader: 'Connection: keep-alive\r\n', tls: false, responseDone() {} };
  const res = new LeanResponse(socket, owner, false);
  refused(() => res.writeHead(204, '', ['X-Path', '/a\r\nX: y']), 'CR LF in a value');
  refused(() => res.writeHead(200, 'O\nK', []), 'LF in the reason');
  assert.equal(res.headersSent, false);
  assert.equal(res.status, 200, 'status untouched by the refused heads');
  res.writeHead(500, '', ['Content-Length', '4']);
  res.end('oops');
  await within(
    new Promise<void>((resolve) => client.on('data', () => received.endsWith('oops') && resolve())),
    5000,
    'the 500',
  );
  assert.match(received, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
  assert.ok(!received.includes('X: y'));
});
