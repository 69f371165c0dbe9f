/**
 * ACME against a real ACME server: Debian's `pebble` (Let's Encrypt's test CA) on loopback,
 * with `pebble-challtestsrv` as its DNS server so every test name resolves to 127.0.0.1, where
 * Portico listens. Pebble really validates: it fetches the HTTP-01 token from Portico's HTTP
 * listener and makes a TLS-ALPN-01 handshake with Portico's TLS listener. Renewal is driven
 * by Portico's injected clock, not by waiting.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, stat, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get as httpsGet } from 'node:https';
import { freePort } from '../helpers/django.js';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { createTestCa, handshake, writePair } from '../helpers/tls.js';
import { directoryId } from '../../src/tls/acme/account.js';

const PEBBLE = '/usr/bin/pebble';
const CHALLTESTSRV = '/usr/bin/pebble-challtestsrv';
const skip = !existsSync(PEBBLE) || !existsSync(CHALLTESTSRV) ? 'pebble is not installed (Debian package pebble; scripts/ensure-test-deps.sh installs it)' : false;

let work = '';
let children: ChildProcess[] = [];
let testCaPath = '';
let testCa = '';
let directory = '';
let pebbleRoot = '';
let httpPort = 0;
let tlsPort = 0;
let clock = Date.now();
let portico: TestPortico | undefined;

function startChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  children.push(child);
  return { child, output: () => output };
}

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca: testCa, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

async function waitFor(url: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetchText(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  if (skip) return;
  work = await mkdtemp(join(tmpdir(), 'portico-pebble-'));
  const ca = await createTestCa('Pebble HTTPS test CA');
  testCa = ca.pem;
  testCaPath = join(work, 'pebble-https-ca.pem');
  await writeFile(testCaPath, ca.pem);
  const pebbleTls = await writePair(work, 'pebble', await ca.issue(['localhost', '127.0.0.1']));
  const [acmePort, mgmtPort, dnsPort, challMgmt] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  [httpPort, tlsPort] = await Promise.all([freePort(), freePort()]);
  await writeFile(
    join(work, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: pebbleTls.cert,
        privateKey: pebbleTls.key,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  startChild(CHALLTESTSRV, ['-dns01', `127.0.0.1:${dnsPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challMgmt}`]);
  const pebble = startChild(PEBBLE, ['-config', join(work, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
    PEBBLE_AUTHZREUSE: '0', // a renewal validates again
  });
  directory = `https://127.0.0.1:${acmePort}/dir`;
  await waitFor(directory, pebble.output);
  pebbleRoot = (await fetchText(`https://127.0.0.1:${mgmtPort}/roots/0`)).body;
  assert.match(pebbleRoot, /BEGIN CERTIFICATE/);
});

after(async () => {
  await portico?.close();
  for (const c of children) c.kill('SIGTERM');
  children = [];
  if (work) await rm(work, { recursive: true, force: true });
});

function config() {
  return {
    data_dir: join(work, 'data'),
    acme: { directory, ca_root: testCaPath, email: 'ops@portico.test' },
    servers: [
      {
        listen: [`127.0.0.1:${tlsPort}`],
        hosts: ['http01.portico.test'],
        tls: { acme: { challenges: ['http-01' as const] } },
        http_redirect: `127.0.0.1:${httpPort}`,
        routes: [{ path: '/', respond: { body: 'http-01 site\n' } }],
      },
      {
        listen: [`127.0.0.1:${tlsPort}`],
        hosts: ['alpn.portico.test'],
        tls: { acme: { challenges: ['tls-alpn-01' as const] } },
        http_redirect: false as const,
        routes: [{ path: '/', respond: { body: 'tls-alpn-01 site\n' } }],
      },
    ],
  };
}

async function served(name: string) {
  const hs = await handshake(tlsPort, { servername: name, ca: pebbleRoot, rejectUnauthorized: false });
  return hs;
}

test('pebble issues a certificate over HTTP-01 and one over TLS-ALPN-01; Portico serves them', { skip }, async () => {
  portico = await startPortico(config(), { now: () => clock });
  await portico.server.tls!.checkRenewals(); // waits for the orders started at startup

  const sites: [string, string][] = [
    ['http01.portico.test', 'http-01'],
    ['alpn.portico.test', 'tls-alpn-01'],
  ];
  for (const [name, type] of sites) {
    const hs = await served(name);
    assert.equal(hs.authorized, true, `${name}: chain verifies against pebble's root: ${hs.authorizationError}`);
    assert.equal(hs.cert.subjectaltname, `DNS:${name}`);
    assert.match(String(hs.cert.issuer.CN), /Pebble Intermediate/);
    const valid: Record<string, unknown> | undefined = portico.errors.find((e) => e.msg === 'acme: challenge valid' && e.name === name);
    assert.ok(valid, `a log line for the validated challenge of ${name}`);
    assert.equal(valid.type, type);
  }
  for (const step of ['acme: registering account', 'acme: account ready', 'acme: order created', 'acme: answering challenge', 'acme: finalizing order', 'acme: certificate obtained'])
    assert.ok(portico.errors.some((e) => e.msg === step), `logged: ${step}`);
  assert.equal(portico.errors.filter((e) => e.level === 50).length, 0, JSON.stringify(portico.errors.filter((e) => e.level === 50)));

  // Stored in the data directory, keys readable by the owner only.
  const dir = join(work, 'data', 'certificates', directoryId(directory), 'http01.portico.test');
  assert.equal((await stat(join(dir, 'key.pem'))).mode & 0o777, 0o600);
  assert.match(await readFile(join(dir, 'certificate.pem'), 'utf8'), /BEGIN CERTIFICATE/);
  assert.equal((await stat(join(work, 'data', 'acme', directoryId(directory), 'account.key'))).mode & 0o777, 0o600);
});

test('at two thirds of its lifetime the certificate is renewed and the new one served', { skip }, async () => {
  assert.ok(portico, 'needs the first test');
  const before = await served('http01.portico.test');
  const beforeAlpn = await served('alpn.portico.test');
  const notBefore = new Date(before.cert.valid_from).getTime();
  const notAfter = new Date(before.cert.valid_to).getTime();
  clock = notBefore + ((notAfter - notBefore) * 2) / 3 - 60_000;
  await portico.server.tls!.checkRenewals();
  assert.equal((await served('http01.portico.test')).cert.serialNumber, before.cert.serialNumber, 'not renewed before it is due');
  clock += 120_000;
  await portico.server.tls!.checkRenewals();
  const after = await served('http01.portico.test');
  assert.notEqual(after.cert.serialNumber, before.cert.serialNumber);
  assert.equal(after.authorized, true);
  assert.notEqual((await served('alpn.portico.test')).cert.serialNumber, beforeAlpn.cert.serialNumber);
  assert.equal(portico.errors.filter((e) => e.msg === 'acme: certificate renewed').length, 2);
});

test('a restart loads the stored certificates instead of ordering again', { skip }, async () => {
  const current = (await served('http01.portico.test')).cert.serialNumber;
  await portico!.close();
  clock = Date.now(); // the renewed certificate is fresh again
  portico = await startPortico(config(), { now: () => clock });
  await portico.server.tls!.checkRenewals();
  assert.equal((await served('http01.portico.test')).cert.serialNumber, current);
  assert.ok(portico.errors.some((e) => e.msg === 'acme: loaded stored certificate'));
  assert.ok(!portico.errors.some((e) => e.msg === 'acme: order created'));
});
