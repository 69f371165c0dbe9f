/**
 * startServer's `beforeServing` (where `portico run` drops root): connections accepted while it
 * runs wait, unread, and are served after it, plain HTTP and TLS alike; one that fails stops the
 * start, and the connections that waited are closed, never served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { createTestCa, h1Request, tempDir, writePair } from '../helpers/tls.js';
import { eventually } from '../proxy/support.js';
import { freePort } from '../helpers/django.js';

function config(extra: Record<string, unknown>[]) {
  return validateConfig(
    {
      access_log: false,
      servers: [{ listen: ['127.0.0.1:0'], routes: [{ path: '/', respond: { body: 'served\n' } }] }, ...extra],
    },
    'test-config',
  );
}

/** The listening ports, read from the log line each listener writes once bound. */
function portsFrom(log: ReturnType<typeof silentLog>): number[] {
  const ports: number[] = [];
  (log as unknown as { logger: { info: (fields: { port?: number }, msg: string) => void } }).logger.info = (fields, msg) => {
    if (msg === 'listening' && fields.port !== undefined) ports.push(fields.port);
  };
  return ports;
}

test('connections accepted before beforeServing ends wait for it, then are served (HTTP and HTTPS)', async (t) => {
  const dir = await tempDir(t);
  const ca = await createTestCa();
  const pair = await writePair(dir, 'site', await ca.issue(['localhost']));
  const log = silentLog();
  const ports = portsFrom(log);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let released = false;
  const starting = startServer(
    config([{ listen: [`127.0.0.1:${await freePort()}`], hosts: ['localhost'], tls: pair, routes: [{ path: '/', respond: { body: 'served tls\n' } }] }]),
    { errorLog: log, accessLog: false, beforeServing: () => gate },
  );
  await eventually(() => ports.length === 2, 'both addresses bound');

  const plain = connect(ports[0]!, '127.0.0.1');
  let answer = '';
  let answeredEarly = false;
  plain.on('data', (c: Buffer) => {
    answer += c;
    if (!released) answeredEarly = true;
  });
  plain.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const tls = h1Request(ports[1]!, ca.pem, { path: '/' }).then((r) => {
    if (!released) answeredEarly = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 300)); // time for an answer that must not come
  assert.equal(answer, '', 'nothing answered before beforeServing ended');
  released = true;
  release();
  const server = await starting;
  t.after(() => server.close());
  await once(plain, 'end');
  assert.match(answer, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nserved\n$/);
  assert.equal((await tls).body, 'served tls\n');
  assert.equal(answeredEarly, false);
});

test('a beforeServing that fails stops the start; the connections that waited are closed unanswered', async () => {
  const log = silentLog();
  const ports = portsFrom(log);
  let fail!: (err: Error) => void;
  const gate = new Promise<void>((_, reject) => (fail = reject));
  const starting = startServer(config([]), { errorLog: log, accessLog: false, beforeServing: () => gate });
  await eventually(() => ports.length === 1, 'the address bound');
  const waiting: Socket = connect(ports[0]!, '127.0.0.1');
  let answer = '';
  waiting.on('data', (c: Buffer) => (answer += c));
  waiting.on('error', () => {});
  waiting.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((r) => setTimeout(r, 100));
  fail(new Error('could not drop root'));
  await assert.rejects(starting, /could not drop root/);
  if (!waiting.destroyed) await once(waiting, 'close');
  assert.equal(answer, '');
});
