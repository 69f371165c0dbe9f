/**
 * Certificates from files on a TLS listener: chosen by SNI (exact, then one-label wildcard,
 * then the default server's), TLS 1.2 and 1.3 only with forward-secret AEAD ciphers, session
 * resumption, and files reloaded when they change on disk (a broken change keeps the old one).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { createTestCa, handshake, h1Request, tempDir, writePair, type TestCa } from '../helpers/tls.js';
import { eventually } from '../proxy/support.js';

let ca: TestCa;

before(async () => {
  ca = await createTestCa();
});

/** Three servers on one address: a default one, an exact name and a wildcard. */
async function sniSetup(t: { after(fn: () => unknown): void }) {
  const dir = await tempDir(t);
  const def = await writePair(dir, 'default', await ca.issue(['default.test']));
  const exact = await writePair(dir, 'exact', await ca.issue(['app.test', 'www.app.test']));
  const wild = await writePair(dir, 'wild', await ca.issue(['*.wild.test']));
  const portico = await startPortico({
    data_dir: join(dir, 'data'),
    servers: [
      { hosts: ['default.test'], tls: def, routes: [{ path: '/', respond: { body: 'default\n' } }] },
      { hosts: ['app.test', 'www.app.test'], tls: [exact], routes: [{ path: '/', respond: { body: 'app\n' } }] },
      { hosts: ['*.wild.test'], tls: wild, routes: [{ path: '/', respond: { body: 'wild\n' } }] },
    ],
  });
  t.after(() => portico.close());
  return { portico, dir, def, exact };
}

test('SNI picks the exact certificate, then a wildcard for one label, else the default server\'s', async (t) => {
  const { portico } = await sniSetup(t);
  const san = async (servername?: string) => (await handshake(portico.port, servername ? { servername } : {})).cert.subjectaltname;
  assert.equal(await san('app.test'), 'DNS:app.test, DNS:www.app.test');
  assert.equal(await san('WWW.App.Test'), 'DNS:app.test, DNS:www.app.test');
  assert.equal(await san('a.wild.test'), 'DNS:*.wild.test');
  assert.equal(await san('a.b.wild.test'), 'DNS:default.test', 'a wildcard covers one label only');
  assert.equal(await san('wild.test'), 'DNS:default.test');
  assert.equal(await san('unknown.test'), 'DNS:default.test');
  assert.equal(await san(undefined), 'DNS:default.test', 'no SNI (an IP literal): the default server\'s certificate');
  // And the chain verifies for the name asked.
  const hs = await handshake(portico.port, { servername: 'x.wild.test', ca: ca.pem, rejectUnauthorized: true });
  assert.equal(hs.authorized, true);
  const res = await h1Request(portico.port, ca.pem, { path: '/' }, 'x.wild.test');
  assert.equal(res.body, 'wild\n');
});

test('TLS 1.2 and 1.3 are accepted; TLS 1.0/1.1 and non-forward-secret or CBC ciphers are refused', async (t) => {
  const { portico } = await sniSetup(t);
  const servername = 'app.test';
  assert.equal((await handshake(portico.port, { servername, minVersion: 'TLSv1.3' })).protocol, 'TLSv1.3');
  assert.equal((await handshake(portico.port, { servername, maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
  await assert.rejects(
    handshake(portico.port, { servername, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }, // the server's alert, not a client-side refusal
  );
  for (const cipher of ['ECDHE-ECDSA-AES128-SHA', 'AES128-GCM-SHA256']) {
    await assert.rejects(handshake(portico.port, { servername, maxVersion: 'TLSv1.2', ciphers: cipher }), { code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' }, cipher);
  }
  const chacha = await handshake(portico.port, { servername, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' });
  assert.equal(chacha.protocol, 'TLSv1.2');
});

test('sessions resume, over TLS 1.3 and 1.2, for a certificate chosen by SNI too', async (t) => {
  const { portico } = await sniSetup(t);
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    for (const servername of ['default.test', 'app.test']) {
      const first = await handshake(portico.port, { servername, minVersion: version, maxVersion: version, waitForTicket: true });
      assert.equal(first.reused, false);
      assert.ok(first.session, `${version} ${servername}: a session ticket`);
      const second = await handshake(portico.port, { servername, minVersion: version, maxVersion: version, session: first.session });
      assert.equal(second.reused, true, `${version} ${servername}: resumed`);
    }
  }
});

test('certificate files are reloaded when they change on disk; a broken change keeps the certificate in use', async (t) => {
  const { portico, dir, exact } = await sniSetup(t);
  const serial = async () => (await handshake(portico.port, { servername: 'app.test' })).cert.serialNumber;
  const first = await serial();

  // An atomic replace, as certbot and editors do: write elsewhere, rename over.
  const next = await ca.issue(['app.test', 'www.app.test']);
  await writeFile(join(dir, 'next.key'), next.key);
  await writeFile(join(dir, 'next.crt'), next.cert);
  await rename(join(dir, 'next.key'), exact.key);
  await rename(join(dir, 'next.crt'), exact.cert);
  let second = first;
  const deadline = Date.now() + 10_000;
  while (second === first && Date.now() < deadline) {
    second = await serial();
    if (second === first) await new Promise((r) => setTimeout(r, 50));
  }
  assert.notEqual(second, first, 'the new certificate is served');
  assert.ok(portico.errors.some((e) => e.msg === 'tls: certificate reloaded'));

  // A key that does not belong to the certificate: logged, old certificate kept.
  const other = await ca.issue(['app.test']);
  await writeFile(exact.key, other.key);
  await eventually(() => portico.errors.some((e) => e.msg === 'tls: certificate files changed but cannot be used; still serving the previous certificate'), 'the error log line', 10_000);
  assert.equal(await serial(), second);
  // Garbage in the certificate file: the same.
  await writeFile(exact.cert, 'not a certificate');
  await eventually(() => portico.errors.filter((e) => e.level === 50).length >= 2, 'a second error', 10_000);
  assert.equal(await serial(), second);
});

test('a missing or mismatched certificate file stops the start with the config key and path', async (t) => {
  const dir = await tempDir(t);
  const pair = await writePair(dir, 'a', await ca.issue(['a.test']));
  await assert.rejects(
    startPortico({ data_dir: dir, servers: [{ tls: { cert: join(dir, 'missing.crt'), key: pair.key }, routes: [{ path: '/', respond: {} }] }] }),
    /servers\[0\]\.tls\.cert: cannot read .*missing\.crt: no such file or directory \(ENOENT\)/,
  );
  const wrongKey = await writePair(dir, 'b', await ca.issue(['b.test']));
  await assert.rejects(
    startPortico({ data_dir: dir, servers: [{ tls: { cert: pair.cert, key: wrongKey.key }, routes: [{ path: '/', respond: {} }] }] }),
    /servers\[0\]\.tls: .*the private key does not match the certificate/,
  );
});
