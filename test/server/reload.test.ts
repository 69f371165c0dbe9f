// A reload applies every change a running process can take (issue 17): new and removed listen
// addresses, a changed kind (HTTP <-> HTTPS) or `client` settings on an address, new HTTPS
// names and certificates, logs. Connections on addresses that stay never notice; a reload that
// cannot be applied (an address in use, a certificate missing) changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';
import { StartError } from '../../src/errors.js';
import { ListenError } from '../../src/server/listeners.js';
import { startPortico } from '../helpers/portico.js';
import { freePort } from '../helpers/django.js';
import { RawClient, one, rawRequest } from '../proxy/support.js';
import { createTestCa, handshake, h1Request, h2Request, tempDir, writePair } from '../helpers/tls.js';

type Server = PorticoConfigInput['servers'][number];
const respond = (body: string): Server['routes'] => [{ path: '/', respond: { body } }];
const get = (host = 'x') => `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(false);
    });
    c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function config(servers: Server[], top: Partial<PorticoConfigInput> = {}) {
  return validateConfig({ access_log: false, ...top, servers }, 'reload.yaml');
}

test('a reload binds a new address and drains a removed one; a keep-alive connection on an address that stays goes on', async (t) => {
  const [a, b] = [await freePort(), await freePort()];
  const p = await startPortico({ servers: [{ listen: [`127.0.0.1:${a}`], routes: respond('v1') }] });
  t.after(() => p.close());
  const kept = await RawClient.connect(a);
  t.after(() => kept.destroy());
  kept.write(get());
  assert.equal((await kept.response()).body.toString(), 'v1');

  await p.server.reload(config([{ listen: [`127.0.0.1:${a}`], routes: respond('v2') }, { listen: [`127.0.0.1:${b}`], routes: respond('b') }]));
  kept.write(get());
  const again = await kept.response();
  assert.equal(again.body.toString(), 'v2', 'the same connection, the new routes');
  assert.notEqual(one(again, 'connection'), 'close');
  assert.equal((await rawRequest(b, get())).body.toString(), 'b', 'the new address serves');
  assert.deepEqual(
    p.server.addresses.map((x) => x.port),
    [a, b],
  );

  // The first address goes: it refuses new connections at once, and its open connection is
  // answered once more, with Connection: close, rather than reset.
  await p.server.reload(config([{ listen: [`127.0.0.1:${b}`], routes: respond('b2') }]));
  assert.equal(await refused(a), true, 'the removed address refuses');
  kept.write(get());
  const last = await kept.response();
  assert.equal(last.body.toString(), 'v2', 'answered on the listener it came to');
  assert.equal(one(last, 'connection'), 'close');
  await kept.untilClosed();
  assert.equal((await rawRequest(b, get())).body.toString(), 'b2');
});

test('a reload that cannot bind an address, or read a certificate, changes nothing and says where', async (t) => {
  const [a, taken] = [await freePort(), await freePort()];
  const other: NetServer = createNetServer();
  await new Promise<void>((resolve) => other.listen(taken, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
  const p = await startPortico({ servers: [{ listen: [`127.0.0.1:${a}`], routes: respond('running') }] });
  t.after(() => p.close());

  const inUse = p.server.reload(config([{ listen: [`127.0.0.1:${a}`], routes: respond('new') }, { listen: [`127.0.0.1:${taken}`], routes: respond('x') }]));
  await assert.rejects(inUse, (err: unknown) => err instanceof ListenError && err.code === 'EADDRINUSE' && err.key === `127.0.0.1:${taken}`);
  assert.equal((await rawRequest(a, get())).body.toString(), 'running', 'the old routes');

  const dir = await tempDir(t);
  const missing = p.server.reload(
    config([{ listen: [`127.0.0.1:${a}`], routes: respond('new') }, { listen: [`127.0.0.1:${await freePort()}`], tls: { cert: join(dir, 'nope.crt'), key: join(dir, 'nope.key') }, routes: respond('x') }]),
  );
  await assert.rejects(missing, (err: unknown) => err instanceof StartError && err.where === 'servers[1].tls.cert');
  assert.equal((await rawRequest(a, get())).body.toString(), 'running');
  assert.deepEqual(
    p.server.addresses.map((x) => x.port),
    [a],
  );
  // And a good one after those is taken.
  await p.server.reload(config([{ listen: [`127.0.0.1:${a}`], routes: respond('fixed') }]));
  assert.equal((await rawRequest(a, get())).body.toString(), 'fixed');
});

test('HTTPS: a reload adds names and certificates, and turns a plain address into an HTTPS one without unbinding it', async (t) => {
  const ca = await createTestCa();
  const dir = await tempDir(t);
  const one1 = await writePair(dir, 'one', await ca.issue(['one.test']));
  const two = await writePair(dir, 'two', await ca.issue(['two.test']));
  const [secure, plain] = [await freePort(), await freePort()];
  const p = await startPortico({
    servers: [
      { listen: [`127.0.0.1:${secure}`], hosts: ['one.test'], tls: one1, routes: respond('one') },
      { listen: [`127.0.0.1:${plain}`], routes: respond('plain') },
    ],
  });
  t.after(() => p.close());
  assert.equal((await h1Request(secure, ca.pem, { path: '/' }, 'one.test')).body, 'one');
  assert.equal((await handshake(secure, { servername: 'two.test' })).cert.subjectaltname, 'DNS:one.test', 'no certificate for two.test yet');

  await p.server.reload(
    config([
      { listen: [`127.0.0.1:${secure}`], hosts: ['one.test'], tls: one1, routes: respond('one') },
      { listen: [`127.0.0.1:${secure}`], hosts: ['two.test'], tls: two, routes: respond('two') },
      { listen: [`127.0.0.1:${plain}`], hosts: ['two.test'], tls: two, routes: respond('now https') },
    ]),
  );
  assert.equal((await h2Request(secure, ca.pem, { path: '/' }, 'two.test')).body, 'two', 'the new name, over HTTP/2');
  assert.equal((await h1Request(secure, ca.pem, { path: '/' }, 'one.test')).body, 'one');
  assert.equal((await h1Request(plain, ca.pem, { path: '/' }, 'two.test')).body, 'now https', 'the plain address speaks HTTPS');
  assert.equal(p.server.addresses.find((x) => x.port === plain)?.tls, true);
});

test('client settings and logs change on reload: new connections get the new limits, the access log moves', async (t) => {
  const dir = await tempDir(t);
  const a = await freePort();
  const p = await startPortico({ servers: [{ listen: [`127.0.0.1:${a}`], routes: respond('ok') }] });
  t.after(() => p.close());
  const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(3000)}\r\n\r\n`;
  assert.equal((await rawRequest(a, big)).status, 200);

  const log = join(dir, 'access.log');
  await p.server.reload(config([{ listen: [`127.0.0.1:${a}`], routes: respond('ok') }], { client: { max_header_size: '2KiB' }, access_log: { format: 'combined', output: log } }));
  assert.equal((await rawRequest(a, big)).status, 431, 'the new max_header_size');
  assert.equal((await rawRequest(a, get('after.test'))).status, 200);
  await p.close();
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  assert.equal(lines.filter((l) => l.includes('"GET / HTTP/1.1" 200')).length, 1, 'the request after the reload, in the new file');
});
