/**
 * Client certificates (nginx ssl_verify_client, issue 18): an access restriction, carried over
 * exactly or refused, never failing open. One nginx.conf, run by a real nginx and by Portico;
 * the same TLS clients (no certificate, one the CA signed, a self-signed one, a revoked one, one
 * behind an intermediate) get the same status and $ssl_client_verify from both:
 *  - `on`: 400 without a certificate or with one that does not verify (also before a
 *    server-level `if ... return`, which must not answer first), 200 with a good one;
 *  - `optional`: no certificate passes (NONE), a bad one is 400;
 *  - `optional_no_ca`: any certificate passes, its verification says FAILED:reason;
 *  - `ssl_crl`: a revoked certificate is 400 (FAILED:certificate revoked);
 *  - `ssl_verify_depth 0`: a certificate behind an intermediate is 400 (chain too long);
 *  - HTTP/2 requests are checked as HTTP/1.1 ones are.
 * Before, Portico refused every config with ssl_verify_client; `ssl_ocsp` still is (Portico
 * does not ask OCSP responders).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { connect as h2connect } from 'node:http2';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { adaptNginx } from '../../src/config/adapters/nginx/index.js';
import { ConfigError } from '../../src/errors.js';

interface Pki {
  files: Record<string, string>;
  client: Record<'good' | 'self' | 'revoked' | 'deep', { cert: string; key: string }>;
  serverCa: string;
}

/** The CAs, certificates and a CRL, made with the openssl CLI. */
function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'portico-mtls-'));
  try {
    const p = (f: string) => join(dir, f);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const ca = (name: string, subj: string) =>
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', subj, '-keyout', p(`${name}.key`), '-out', p(`${name}.crt`), '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    const leaf = (name: string, subj: string, issuer: string, ext = 'extendedKeyUsage=clientAuth') => {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subj, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`));
      writeFileSync(p(`${name}.ext`), `${ext}\n`);
      openssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${issuer}.crt`), '-CAkey', p(`${issuer}.key`), '-CAcreateserial', '-days', '2', '-out', p(`${name}.crt`), '-extfile', p(`${name}.ext`));
    };
    ca('server-ca', '/CN=Server CA');
    leaf('server', '/CN=localhost', 'server-ca', 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth');
    ca('client-ca', '/CN=Client CA');
    leaf('good', '/CN=good client/O=Portico', 'client-ca');
    leaf('revoked', '/CN=revoked client', 'client-ca');
    leaf('int', '/CN=intermediate', 'client-ca', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign');
    leaf('deep', '/CN=deep client', 'int');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=self', '-keyout', p('self.key'), '-out', p('self.crt'));
    // A CRL of the client CA revoking "revoked" (openssl ca needs its small database).
    writeFileSync(p('index.txt'), '');
    writeFileSync(p('crlnumber'), '01\n');
    writeFileSync(
      p('ca.cnf'),
      `[ ca ]\ndefault_ca = c\n[ c ]\ndatabase = ${p('index.txt')}\ncrlnumber = ${p('crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 2\n`,
    );
    openssl('ca', '-config', p('ca.cnf'), '-keyfile', p('client-ca.key'), '-cert', p('client-ca.crt'), '-revoke', p('revoked.crt'));
    openssl('ca', '-config', p('ca.cnf'), '-keyfile', p('client-ca.key'), '-cert', p('client-ca.crt'), '-gencrl', '-out', p('client.crl'));
    const read = (f: string) => readFileSync(p(f), 'utf8');
    const pair = (n: string) => ({ cert: read(`${n}.crt`), key: read(`${n}.key`) });
    return {
      files: {
        'server.crt': read('server.crt'),
        'server.key': read('server.key'),
        'client-ca.crt': read('client-ca.crt'),
        'chain-ca.crt': read('client-ca.crt') + read('int.crt'),
        'client.crl': read('client.crl'),
      },
      client: { good: pair('good'), self: pair('self'), revoked: pair('revoked'), deep: { cert: read('deep.crt') + read('int.crt'), key: read('deep.key') } },
      serverCa: read('server-ca.crt'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CONF = (ports: number[]) => `events {}
http {
    include temp_paths.conf;
    access_log off;
    ssl_certificate server.crt;
    ssl_certificate_key server.key;
    add_header X-Verify $ssl_client_verify always;
    add_header X-Subject $ssl_client_s_dn always;
    server {
        listen 127.0.0.1:${ports[0]} ssl;
        server_name localhost;
        ssl_verify_client on;
        ssl_client_certificate client-ca.crt;
        ssl_crl client.crl;
        if ($arg_early) {
            return 200 "early\\n";
        }
        location / {
            return 200 "on\\n";
        }
    }
    server {
        listen 127.0.0.1:${ports[1]} ssl;
        server_name localhost;
        ssl_verify_client optional;
        ssl_client_certificate client-ca.crt;
        location / {
            return 200 "optional\\n";
        }
    }
    server {
        listen 127.0.0.1:${ports[2]} ssl;
        server_name localhost;
        ssl_verify_client optional_no_ca;
        location / {
            return 200 "optional_no_ca\\n";
        }
    }
    server {
        listen 127.0.0.1:${ports[3]} ssl;
        server_name localhost;
        ssl_verify_client on;
        ssl_client_certificate chain-ca.crt;
        ssl_verify_depth 0;
        location / {
            return 200 "depth 0\\n";
        }
    }
}
`;

interface Answer {
  status: number;
  verify: string | undefined;
  subject: string | undefined;
}

/** One HTTP/1.1 request over TLS with an optional client certificate. */
function get(port: number, ca: string, path: string, client?: { cert: string; key: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca, ...(client ?? {}), ALPNProtocols: ['http/1.1'] });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('secureConnect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
    socket.on('data', (c: string) => (data += c));
    socket.on('error', reject);
    socket.on('close', () => {
      const head = data.split('\r\n\r\n')[0]!;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const header = (n: string) => new RegExp(`^${n}: (.*)$`, 'mi').exec(head)?.[1];
      resolve({ status, verify: header('X-Verify'), subject: header('X-Subject') });
    });
  });
}

function h2Get(port: number, ca: string, client?: { cert: string; key: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://localhost:${port}`, { ca, host: '127.0.0.1', servername: 'localhost', ...(client ?? {}) } as never);
    session.on('error', reject);
    const stream = session.request({ ':path': '/' });
    stream.on('response', (h) => {
      stream.resume();
      stream.on('end', () => {
        session.close();
        resolve({ status: Number(h[':status']), verify: h['x-verify'] as string | undefined, subject: h['x-subject'] as string | undefined });
      });
    });
    stream.on('error', reject);
  });
}

test('client certificates: nginx and Portico let in and refuse the same clients', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const pki = makePki();
  const nginxPorts = [await freePort(), await freePort(), await freePort(), await freePort()];
  const porticoPorts = [await freePort(), await freePort(), await freePort(), await freePort()];
  const nginxPrefix = await makePrefix({ 'nginx.conf': CONF(nginxPorts), 'temp_paths.conf': TEMP_PATHS, ...pki.files });
  const porticoPrefix = await makePrefix({ 'nginx.conf': CONF(porticoPorts), 'temp_paths.conf': TEMP_PATHS, ...pki.files });
  t.after(() => Promise.all([nginxPrefix.remove(), porticoPrefix.remove()]));
  const nginx = await startNginx(nginxPrefix, nginxPorts[0]!);
  t.after(() => nginx.close());
  const loaded = await loadConfigFile(porticoPrefix.conf, { nginxPrefix: porticoPrefix.dir });
  assert.deepEqual(loaded.warnings, []);
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());

  const { good, self, revoked, deep } = pki.client;
  const cases: [string, number, string, { cert: string; key: string } | undefined, number][] = [
    ['on: no certificate', 0, '/', undefined, 400],
    ['on: a certificate the CA signed', 0, '/', good, 200],
    ['on: a self-signed certificate', 0, '/', self, 400],
    ['on: a revoked certificate (ssl_crl)', 0, '/', revoked, 400],
    ['on: a server-level if ... return does not answer before the check', 0, '/?early=1', undefined, 400],
    ['on: the if answers once the certificate is good', 0, '/?early=1', good, 200],
    ['optional: no certificate', 1, '/', undefined, 200],
    ['optional: a good certificate', 1, '/', good, 200],
    ['optional: a self-signed certificate', 1, '/', self, 400],
    ['optional_no_ca: a self-signed certificate is let in', 2, '/', self, 200],
    ['optional_no_ca: no certificate', 2, '/', undefined, 200],
    ['ssl_verify_depth 0: a certificate the trusted CA signed', 3, '/', good, 200],
    ['ssl_verify_depth 0: one behind an intermediate', 3, '/', deep, 400],
  ];
  for (const [name, i, path, client, status] of cases) {
    await t.test(name, async () => {
      const n = await get(nginxPorts[i]!, pki.serverCa, path, client);
      const p = await get(porticoPorts[i]!, pki.serverCa, path, client);
      assert.equal(n.status, status, 'nginx');
      assert.deepEqual(p, n, 'Portico (actual) vs nginx (expected)');
    });
  }

  await t.test('HTTP/2: checked as HTTP/1.1 is', async () => {
    assert.equal((await h2Get(porticoPorts[0]!, pki.serverCa)).status, 400);
    const ok = await h2Get(porticoPorts[0]!, pki.serverCa, good);
    assert.equal(ok.status, 200);
    assert.equal(ok.verify, 'SUCCESS');
  });
});

test('client certificates: what cannot be applied is refused', () => {
  const refused = (conf: string) => {
    try {
      adaptNginx(`events {}\nhttp {\n    server {\n        listen 127.0.0.1:1;\n        ${conf}\n    }\n}\n`, 'nginx.conf');
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems;
    }
  };
  assert.match(refused('ssl_ocsp on;').join('\n'), /nginx\.conf:5:\d+: "ssl_ocsp" cannot be carried over/);
  assert.deepEqual(refused('ssl_ocsp off;'), []);
});
