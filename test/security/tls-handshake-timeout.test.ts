// A TLS connection must finish its handshake within client.header_timeout of being accepted
// (nginx bounds it by client_header_timeout): one that sends nothing, half a ClientHello or a
// ClientHello a byte at a time is closed, and does not hold a socket for good. Before, a failed
// or timed-out handshake went to node's 'clientError' path, which wrote an HTTP 400 that a
// connection without a finished handshake never sends, and stayed open. Plain HTTP sent to the
// HTTPS port is told so in a 400 (nginx's "The plain HTTP request was sent to HTTPS port"),
// logged, and closed.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { startPortico } from '../helpers/portico.js';
import { createTestCa, h1Request, h2Request, tempDir, writePair, type TestCa } from '../helpers/tls.js';
import { within } from '../proxy/support.js';
import { validateConfig } from '../../src/config/load.js';
import { compile } from '../../src/compile/compile.js';
import { TlsRuntime } from '../../src/tls/runtime.js';
import type { Duplex } from 'node:stream';
import { tlsListener } from '../../src/server/listeners.js';
import { silentLog } from '../../src/log/error-log.js';
import { peekClientHello } from '../../src/tls/client-hello.js';

type T = { after(fn: () => unknown): void };

let ca: TestCa;
before(async () => {
  ca = await createTestCa();
});

/** Waits well past header_timeout (1s) but far short of node's own 120s handshake timeout. */
const BOUND = 10_000;

/** The start of a TLS record holding a ClientHello of 512 bytes (RFC 8446 §5.1, §4.1.2). */
const HELLO_START = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]);

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Resolves when the server closed the connection; a client write error counts (it is closed). */
async function closedByServer(socket: Socket, what: string): Promise<void> {
  socket.on('error', () => {});
  if (!socket.destroyed) await within(once(socket, 'close'), BOUND, `${what}: the server to close the connection`);
}

async function tlsSetup(t: T) {
  const dir = await tempDir(t);
  const pair = await writePair(dir, 'site', await ca.issue(['localhost']));
  return { dir, pair };
}

test('TLS: no ClientHello, half of one or one dripped a byte at a time: closed at header_timeout; plain HTTP: a 400 saying so; HTTPS still works', async (t) => {
  const { dir, pair } = await tlsSetup(t);
  const portico = await startPortico({
    data_dir: join(dir, 'data'),
    client: { header_timeout: '1s' },
    servers: [{ hosts: ['localhost'], tls: pair, routes: [{ path: '/', respond: { body: 'hello\n' } }] }],
  });
  t.after(() => portico.close());

  const silent = await open(portico.port);
  const half = await open(portico.port);
  half.write(HELLO_START);
  // A deadline, not an idle timer: a byte every 100 ms would otherwise keep it open for 50 s.
  const drip = await open(portico.port);
  const record = Buffer.concat([HELLO_START, Buffer.alloc(507)]);
  let sent = 0;
  const dripper = setInterval(() => {
    if (drip.destroyed || sent >= record.length) return clearInterval(dripper);
    drip.write(record.subarray(sent, ++sent));
  }, 100);
  t.after(() => clearInterval(dripper));
  const plain = await open(portico.port);
  let plainReply = '';
  plain.on('data', (c: Buffer) => (plainReply += c.toString('latin1')));
  plain.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');

  await Promise.all([
    closedByServer(silent, 'no ClientHello'),
    closedByServer(half, '10 bytes of a ClientHello'),
    closedByServer(drip, 'a ClientHello a byte at a time'),
    closedByServer(plain, 'plain HTTP on the TLS port'),
  ]);
  assert.ok(sent < record.length, `the dripped ClientHello was cut off (${sent} of ${record.length} bytes sent)`);
  assert.match(plainReply, /^HTTP\/1\.1 400 Bad Request\r\n/, 'plain HTTP gets a 400, not an empty reply');
  assert.match(plainReply, /Connection: close\r\n\r\n400 Bad Request: the plain HTTP request was sent to HTTPS port\n$/);
  assert.ok(
    portico.errors.some((e) => e.level === 30 && /plain HTTP request sent to an HTTPS address/.test(String(e.msg))),
    'and a log line says so',
  );

  // Real clients are not affected, over either protocol.
  assert.equal((await h1Request(portico.port, ca.pem, { path: '/' })).body, 'hello\n');
  assert.equal((await h2Request(portico.port, ca.pem, { path: '/' })).body, 'hello\n');
});

test('TLS: a connection held while its ClientHello is peeked at (ACME TLS-ALPN-01) is also closed at header_timeout', async (t) => {
  const { dir, pair } = await tlsSetup(t);
  const config = validateConfig(
    {
      data_dir: join(dir, 'data'),
      access_log: false,
      client: { header_timeout: '1s' },
      servers: [{ listen: ['127.0.0.1:0'], hosts: ['localhost'], tls: pair, routes: [{ path: '/', respond: { body: 'peeked\n' } }] }],
    },
    'test-config',
  );
  const log = silentLog();
  const compiled = compile(config, { log });
  const runtime = await TlsRuntime.start(compiled, { log, dataDir: join(dir, 'data'), now: Date.now });
  const plan = compiled.listeners[0]!;
  const deps = {
    accessLog: undefined,
    errorLog: log,
    inFlight: { count: 0, onIdle: null },
    limits: { maxHeaders: config.client.max_headers, maxUriLength: config.client.max_uri_length },
    client: config.client,
    tunnels: new Set<Duplex>(),
  };
  // The ACME peek's own wait for a ClientHello is longer than the bound of this test.
  const peek = (socket: Socket, pass: (socket: Socket) => void) => peekClientHello(socket, 60_000, () => pass(socket));
  const listener = tlsListener(plan, deps, { sni: runtime.sniFor(plan), peek });
  const { port } = await listener.listen();
  t.after(() => {
    listener.stopAccepting();
    listener.destroyAll();
    runtime.close();
    compiled.pools.destroy();
    compiled.groups.close();
  });

  const silent = await open(port);
  const half = await open(port);
  half.write(HELLO_START);
  const plain = await open(port);
  let plainReply = '';
  plain.on('data', (c: Buffer) => (plainReply += c.toString('latin1')));
  plain.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await Promise.all([
    closedByServer(silent, 'no ClientHello (peek)'),
    closedByServer(half, '10 bytes of a ClientHello (peek)'),
    closedByServer(plain, 'plain HTTP (peek)'),
  ]);
  assert.match(plainReply, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*plain HTTP request was sent to HTTPS port/);
  assert.equal((await h1Request(port, ca.pem, { path: '/' })).body, 'peeked\n', 'a whole ClientHello passes the peek and is served');
});
