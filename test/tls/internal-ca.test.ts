/**
 * `tls: internal`: the local CA (root + intermediate) is created once in the data directory
 * with private file modes and reused; leaves chain to the root for localhost, 127.0.0.1 and
 * ::1, names under a server's wildcard get their own leaf at handshake time, and leaves and
 * the intermediate are renewed on the injected clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { startPortico } from '../helpers/portico.js';
import { handshake, h1Request, tempDir } from '../helpers/tls.js';
import { resolveDataDir } from '../../src/tls/data-dir.js';
import { isLocalName } from '../../src/compile/local-names.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('the local CA lives in the data directory, keys 0600, and a second start reuses it', async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  const cfg = { data_dir: data, servers: [{ tls: 'internal' as const, routes: [{ path: '/', respond: { body: 'ok\n' } }] }] };
  const first = await startPortico(cfg);
  const caDir = join(data, 'pki', 'authorities', 'local');
  for (const f of ['root.crt', 'root.key', 'intermediate.crt', 'intermediate.key']) assert.equal((await stat(join(caDir, f))).mode & 0o777, 0o600, f);
  assert.equal((await stat(caDir)).mode & 0o777, 0o700);
  const root = await readFile(join(caDir, 'root.crt'), 'utf8');
  const rootCert = new X509Certificate(root);
  assert.equal(rootCert.ca, true);
  assert.ok(new Date(rootCert.validTo).getTime() - Date.now() > 9 * 365 * DAY, 'the root lives ~10 years');
  const inter = new X509Certificate(await readFile(join(caDir, 'intermediate.crt'), 'utf8'));
  assert.ok(inter.checkIssued(rootCert));
  assert.ok(new Date(inter.validTo).getTime() - Date.now() <= 7 * DAY);
  await first.close();

  const second = await startPortico(cfg);
  t.after(() => second.close());
  assert.equal(await readFile(join(caDir, 'root.crt'), 'utf8'), root, 'same root');
  assert.ok(second.errors.every((e) => e.msg !== 'tls: created the local root CA; run `portico trust` to have this machine trust it'));
  // The leaf chains to the root for every local name; IP literals send no SNI.
  for (const servername of ['localhost', undefined]) {
    const hs = await handshake(second.port, { ca: root, rejectUnauthorized: false, ...(servername ? { servername } : {}) });
    assert.equal(hs.cert.subjectaltname, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(new Date(hs.cert.valid_to).getTime() - Date.now() <= 12 * HOUR);
  }
  const verified = await handshake(second.port, { servername: 'localhost', ca: root, rejectUnauthorized: true });
  assert.equal(verified.authorized, true);
  const res = await h1Request(second.port, root, { path: '/' });
  assert.equal(res.body, 'ok\n');
});

test('names under a server\'s wildcard get their own leaf at handshake time; other names do not', async (t) => {
  const dir = await tempDir(t);
  const portico = await startPortico({
    data_dir: dir,
    servers: [{ hosts: ['app.localhost', '*.app.localhost'], tls: 'internal', routes: [{ path: '/', respond: { body: 'app\n' } }] }],
  });
  t.after(() => portico.close());
  const root = await readFile(join(dir, 'pki/authorities/local/root.crt'), 'utf8');
  const main = await handshake(portico.port, { servername: 'app.localhost', ca: root, rejectUnauthorized: true });
  assert.equal(main.cert.subjectaltname, 'DNS:app.localhost');
  const sub = await handshake(portico.port, { servername: 'api.app.localhost', ca: root, rejectUnauthorized: true });
  assert.equal(sub.authorized, true);
  assert.equal(sub.cert.subjectaltname, 'DNS:api.app.localhost');
  const again = await handshake(portico.port, { servername: 'api.app.localhost' });
  assert.equal(again.cert.serialNumber, sub.cert.serialNumber, 'cached, not minted per handshake');
  const stranger = await handshake(portico.port, { servername: 'evil.example' });
  assert.equal(stranger.cert.subjectaltname, 'DNS:app.localhost', 'no certificate minted for a name the server does not serve');
});

test('leaves are renewed at two thirds of their 12 hours, the intermediate at two thirds of its 7 days', async (t) => {
  const dir = await tempDir(t);
  let clock = Date.now();
  const portico = await startPortico({ data_dir: dir, servers: [{ tls: 'internal', routes: [{ path: '/', respond: {} }] }] }, { now: () => clock });
  t.after(() => portico.close());
  const root = await readFile(join(dir, 'pki/authorities/local/root.crt'), 'utf8');
  const leaf = async () => (await handshake(portico.port, { servername: 'localhost' })).cert;
  const first = await leaf();
  const interBefore = await readFile(join(dir, 'pki/authorities/local/intermediate.crt'), 'utf8');

  clock += 7 * HOUR; // before 8h: nothing due
  await portico.server.tls!.checkRenewals();
  assert.equal((await leaf()).serialNumber, first.serialNumber);

  clock += 2 * HOUR;
  await portico.server.tls!.checkRenewals();
  const second = await leaf();
  assert.notEqual(second.serialNumber, first.serialNumber);
  assert.equal(await readFile(join(dir, 'pki/authorities/local/intermediate.crt'), 'utf8'), interBefore, 'same intermediate');
  clock += 5 * DAY; // past two thirds of the intermediate's week
  await portico.server.tls!.checkRenewals();
  const interAfter = await readFile(join(dir, 'pki/authorities/local/intermediate.crt'), 'utf8');
  assert.notEqual(interAfter, interBefore);
  const third = await handshake(portico.port, { servername: 'localhost', ca: root, rejectUnauthorized: false });
  assert.notEqual(third.cert.serialNumber, second.serialNumber, 'leaves re-issued under the new intermediate');
  assert.ok(new X509Certificate(interAfter).checkIssued(new X509Certificate(root)));
  assert.ok(portico.errors.some((e) => e.msg === 'tls: issued a new local intermediate CA'));
});

test('data directory: config, then PORTICO_DATA_DIR, then XDG_DATA_HOME, then ~/.local/share', () => {
  assert.equal(resolveDataDir('/srv/p', { PORTICO_DATA_DIR: '/x', XDG_DATA_HOME: '/y', HOME: '/h' }), '/srv/p');
  assert.equal(resolveDataDir(undefined, { PORTICO_DATA_DIR: '/x', XDG_DATA_HOME: '/y', HOME: '/h' }), '/x');
  assert.equal(resolveDataDir(undefined, { XDG_DATA_HOME: '/y', HOME: '/h' }), '/y/portico');
  assert.equal(resolveDataDir(undefined, { HOME: '/h' }), '/h/.local/share/portico');
});

test('local names: what tls auto serves from the local CA', () => {
  for (const n of ['localhost', 'app.localhost', '*.localhost', '.localhost', 'printer.local', 'db.internal', 'nas.home.arpa', '127.0.0.1', '::1', '[::1]', '10.0.0.5'])
    assert.equal(isLocalName(n), true, n);
  for (const n of ['example.com', 'localhost.example.com', '*.example.com', 'local', 'internal.example'])
    assert.equal(isLocalName(n), false, n);
});
