/** Shield config: defaults as documented, and errors that say what to change (with file:line). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { compile } from '../../src/compile/compile.js';
import { ConfigError } from '../../src/errors.js';
import { silentLog } from '../../src/log/error-log.js';

function problems(yaml: string): string[] {
  try {
    const config = parseConfigText(yaml, 'portico.yaml');
    compile(config, { log: silentLog() }, 'portico.yaml').pools.destroy();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail('expected a ConfigError');
}

const ROUTE = (extra: string) => `servers:
  - listen: ["127.0.0.1:0"]
    routes:
      - path: /
        proxy: { to: "127.0.0.1:3000" }
${extra}`;

test('defaults: client limits and timeouts, buffering on, 10 MiB bodies, unknown hosts to the default server', () => {
  const config = parseConfigText(ROUTE(''), 'portico.yaml');
  assert.deepEqual(config.client, {
    header_timeout: 60_000,
    body_timeout: 60_000,
    keepalive_timeout: 75_000,
    send_timeout: 60_000,
    max_header_size: 16 * 1024,
    max_headers: 100,
    max_uri_length: 8 * 1024,
    max_body_size: 10 * 1024 * 1024,
  });
  assert.deepEqual(config.servers[0]!.routes[0]!.proxy!.buffering, { request: true, response: true, memory_limit: 64 * 1024, max_temp_file_size: 1024 ** 3 });
  assert.equal(config.servers[0]!.unknown_host, 'default');
  const off = parseConfigText(ROUTE('').replace('proxy: { to: "127.0.0.1:3000" }', 'proxy: { to: "127.0.0.1:3000", buffering: false }'), 'x');
  assert.equal(off.servers[0]!.routes[0]!.proxy!.buffering.request, false);
  assert.equal(off.servers[0]!.routes[0]!.proxy!.buffering.response, false);
  const sizes = parseConfigText(ROUTE('        max_body_size: 1g\n').replace('client: {}', ''), 'x');
  assert.equal(sizes.servers[0]!.routes[0]!.max_body_size, 1024 ** 3);
});

test('bad values name the key and the expected form', () => {
  const out = problems(
    ROUTE(`      - path: /a/
        proxy: { to: "127.0.0.1:3000", buffering: { memory_limit: lots } }
        max_body_size: 10 parsecs
        limit_req: { rate: 10 per second }
        access: [{ allow: 10.0.0.0/33 }]
        basic_auth: { users: { alice: plaintext } }
      - path: /b/
        respond: {}
        limit_req: { rate: 1r/s, nodelay: true, delay: 2 }
`),
  );
  assert.deepEqual(out, [
    `portico.yaml:7:67: servers[0].routes[1].proxy.buffering.memory_limit: expected a size such as 64KiB, 10MiB or 1g, got 'lots'`,
    `portico.yaml:8:24: servers[0].routes[1].max_body_size: expected a size such as 64KiB, 10MiB or 1g, got '10 parsecs'`,
    `portico.yaml:9:28: servers[0].routes[1].limit_req.rate: expected a rate such as 10r/s or 30r/m, got '10 per second'`,
    `portico.yaml:10:27: servers[0].routes[1].access[0].allow: expected a CIDR, an IP address, 'private_ranges' or 'all', got '10.0.0.0/33'`,
    `portico.yaml:11:39: servers[0].routes[1].basic_auth.users.alice: expected a bcrypt hash ($2a$/$2b$/$2y$; make one with \`portico hash-password\`) or another htpasswd format ($apr1$, $1$, $5$, $6$, {SHA}, {SSHA}, {PLAIN})`,
    `portico.yaml:14:20: servers[0].routes[2].limit_req: nodelay and delay exclude each other`,
  ]);
});

test('a zone name with two definitions, and unknown_host next to a default server, are refused', () => {
  const out = problems(`servers:
  - listen: ["127.0.0.1:0"]
    hosts: [a.example]
    unknown_host: close
    routes:
      - { path: /a/, respond: {}, limit_req: { zone: api, rate: 10r/s } }
      - { path: /b/, respond: {}, limit_req: { zone: api, rate: 20r/s } }
  - listen: ["127.0.0.1:0"]
    hosts: [b.example]
    default: true
    routes:
      - { path: /, respond: {} }
`);
  assert.equal(out.length, 2, out.join('\n'));
  assert.match(out[0]!, /unknown_host: servers\[1\] already answers unknown hosts on 127\.0\.0\.1:0 \(default: true\)/);
  assert.match(out[1]!, /zone 'api' is defined with rate 10r\/s, key \{client_ip\}, max_keys 100000 at .*routes\[0\].*, here with rate 20r\/s/);
});

test('an htpasswd file with a line that is not bcrypt names file and line', () => {
  const out = problems(ROUTE(`        basic_auth: { users_file: /nonexistent/htpasswd }\n`));
  assert.equal(out.length, 1);
  assert.match(out[0]!, /servers\[0\]\.routes\[0\]: ENOENT/);
});
