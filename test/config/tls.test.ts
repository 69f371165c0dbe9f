// The `tls` keys: what each server's HTTPS becomes (the defaults especially), and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { compile } from '../../src/compile/compile.js';
import { ConfigError } from '../../src/errors.js';
import { silentLog } from '../../src/log/error-log.js';
import type { Exchange } from '../../src/http/exchange.js';
import { RecordingWriter } from '../helpers/recording-writer.js';

function compiled(yaml: string) {
  const c = compile(parseConfigText(yaml, 'portico.yaml'), { log: silentLog() }, 'portico.yaml');
  c.pools.destroy();
  return c;
}

function problems(yaml: string): string[] {
  try {
    compiled(yaml);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail('expected a ConfigError');
}

const ROUTE = `    routes: [{ path: /, respond: {} }]\n`;

test('no tls key: plain HTTP, unless the server listens on 443, where tls is auto', () => {
  const plain = compiled(`servers:\n  - listen: ":8080"\n${ROUTE}`);
  assert.equal(plain.listeners[0]!.tls, undefined);
  const local = compiled(`servers:\n  - listen: ":443"\n    hosts: [localhost, app.localhost]\n${ROUTE}`);
  assert.equal(local.tlsSites[0]!.source.kind, 'internal');
  assert.deepEqual(local.tlsSites[0]!.names, ['localhost', 'app.localhost']);
  const pub = compiled(`servers:\n  - listen: ":443"\n    hosts: [example.com]\n${ROUTE}`);
  const source = pub.tlsSites[0]!.source;
  assert.equal(source.kind, 'acme');
  assert.equal(source.kind === 'acme' && source.directory, 'https://acme-v02.api.letsencrypt.org/directory');
  assert.deepEqual(source.kind === 'acme' && source.challenges, ['http-01', 'tls-alpn-01']);
  // ...and an HTTP listener on :80 redirecting to it.
  assert.deepEqual(
    pub.listeners.map((l) => [l.key, l.tls !== undefined]),
    [
      ['*:443', true],
      ['*:80', false],
    ],
  );
});

test('tls internal without hosts covers localhost, 127.0.0.1 and ::1; no redirect listener off port 443', () => {
  const c = compiled(`servers:\n  - listen: "127.0.0.1:8443"\n    tls: internal\n${ROUTE}`);
  assert.deepEqual(c.tlsSites[0]!.names, ['localhost', '127.0.0.1', '::1']);
  assert.equal(c.listeners.length, 1);
});

test('global acme defaults apply; a server may override directory, email and challenges', () => {
  const c = compiled(`acme: { email: ops@example.com, directory: "https://acme.test/dir" }
servers:
  - listen: ":443"
    hosts: [a.example.com]
    tls: acme
${ROUTE}  - listen: ":443"
    hosts: [b.example.com]
    tls: { acme: { email: b@example.com, challenges: [tls-alpn-01] } }
${ROUTE}`);
  assert.deepEqual(
    c.tlsSites.map((s) => s.source),
    [
      { kind: 'acme', email: 'ops@example.com', directory: 'https://acme.test/dir', challenges: ['http-01', 'tls-alpn-01'], caRoot: undefined },
      { kind: 'acme', email: 'b@example.com', directory: 'https://acme.test/dir', challenges: ['tls-alpn-01'], caRoot: undefined },
    ],
  );
});

test('errors: ACME without names or with wildcards, TLS and plain HTTP on one address, redirects onto HTTPS', () => {
  assert.deepEqual(problems(`servers:\n  - listen: ":443"\n    tls: acme\n${ROUTE}`), [
    "portico.yaml: servers[0].tls: ACME needs the names to certify; give the server 'hosts'",
  ]);
  assert.match(problems(`servers:\n  - listen: ":443"\n    hosts: ["*.example.com"]\n${ROUTE}`)[0]!, /servers\[0\]\.tls: ACME HTTP-01 and TLS-ALPN-01 cannot certify '\*\.example\.com'/);
  assert.deepEqual(problems(`servers:\n  - listen: ":8443"\n    tls: internal\n${ROUTE}  - listen: ":8443"\n    hosts: [b]\n${ROUTE}`), [
    "portico.yaml: servers[1].listen: *:8443 is HTTPS for servers[0]; give this server 'tls' too or another address",
  ]);
  assert.deepEqual(problems(`servers:\n  - listen: ":8443"\n    tls: internal\n    http_redirect: ":8443"\n${ROUTE}`), [
    'portico.yaml: servers[0].http_redirect: *:8443 is an HTTPS address; redirect from a plain HTTP one',
  ]);
  assert.deepEqual(problems(`servers:\n  - listen: ":8080"\n    http_redirect: ":80"\n${ROUTE}`), [
    'portico.yaml: servers[0].http_redirect: the server has no tls; http_redirect only applies to HTTPS servers',
  ]);
});

test('schema errors name the key: a cert without key, an unknown tls mode', () => {
  for (const [tls, expected] of [
    ['{ cert: a.pem }', /servers\[0\]\.tls/],
    ['magic', /servers\[0\]\.tls/],
  ] as const) {
    assert.throws(() => parseConfigText(`servers:\n  - listen: ":8443"\n    tls: ${tls}\n${ROUTE}`, 'portico.yaml'), (err: ConfigError) => expected.test(err.problems.join('\n')));
  }
});

test('hsts: off by default, a header on every route of an HTTPS server when on', () => {
  const c = compiled(`servers:\n  - listen: ":8443"\n    tls: internal\n    hsts: { max_age: 600, include_subdomains: true }\n${ROUTE}`);
  const found = c.listeners[0]!.hosts.match('localhost')!.locations.match('/');
  assert.ok(found && 'route' in found);
  // The route's response filter adds it to every head the route writes, and nothing else.
  const writer = new RecordingWriter();
  found.route.filter!(writer, {} as Exchange).writeHead(200, '', []);
  assert.deepEqual(writer.head?.headers, ['Strict-Transport-Security', 'max-age=600; includeSubDomains']);
});
