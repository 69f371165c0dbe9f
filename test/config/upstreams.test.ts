// Upstream pools and route `match` in the config: what is accepted, and errors that name file,
// line, column, key path and what to write instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { compile } from '../../src/compile/compile.js';
import { ConfigError } from '../../src/errors.js';
import { silentLog } from '../../src/log/error-log.js';
import { HostRegistry } from '../../src/upstream/host-state.js';

function problems(yaml: string): string[] {
  try {
    parseConfigText(yaml, 'portico.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail('expected a ConfigError');
}

test('a full pool config is accepted and normalized', () => {
  const cfg = parseConfigText(
    `upstreams:
  django:
    servers:
      - 127.0.0.1:8001
      - { address: "unix:/run/gunicorn.sock", weight: 2, max_conns: 8 }
      - { address: "https://api.internal", backup: true }
    policy: { name: hash, key: "cookie:sessionid", fallback: least_conn }
    max_fails: 3
    fail_timeout: 30s
    fail_on: [error, timeout, http_502]
    health_check: { path: /healthz/, interval: 10s, timeout: 1s, status: 2xx, body: ok, passes: 2, fails: 3 }
    retry: { on: [error, timeout, http_503], tries: 2, try_duration: 5s }
    queue: { size: 50, timeout: 10s }
    tls: { server_name: api.internal }
servers:
  - routes:
      - path: /
        proxy: { to: django }
      - path: /app/
        match: { remote_ip: [10.1.0.0/16, 127.0.0.2] }
        proxy: { to: ["127.0.0.1:8501", "127.0.0.1:8502"] }
`,
    'portico.yaml',
  );
  const pool = cfg.upstreams!.django!;
  assert.deepEqual(pool.policy, { name: 'hash', key: 'cookie:sessionid', fallback: 'least_conn' });
  assert.equal(pool.fail_timeout, 30_000);
  assert.deepEqual(pool.retry, { on: ['error', 'timeout', 'http_503'], tries: 2, try_duration: 5_000, try_interval: 250 });
  assert.equal(pool.health_check!.interval, 10_000);
  assert.deepEqual(cfg.servers[0]!.routes[0]!.proxy!.to, { upstream: 'django' });
  const inline = cfg.servers[0]!.routes[1]!.proxy!.to as { pool: { servers: unknown[]; policy: unknown; max_fails: number } };
  assert.deepEqual(inline.pool.servers, ['127.0.0.1:8501', '127.0.0.1:8502']);
  assert.deepEqual(inline.pool.policy, { name: 'round_robin' });
  assert.equal(inline.pool.max_fails, 1, "nginx's default");
});

test('proxy.to naming a pool that does not exist: the route\'s line, and what to write', () => {
  const out = problems(`upstreams:
  django: { servers: ["127.0.0.1:8001"] }
servers:
  - routes:
      - path: /
        proxy: { to: djnago }
`);
  assert.deepEqual(out, [
    `portico.yaml:6:22: servers[0].routes[0].proxy.to: expected host:port, got 'djnago' (and no pool of that name is defined under 'upstreams')`,
  ]);
});

test('pool errors point at the offending key', () => {
  const out = problems(`upstreams:
  app:
    servers:
      - 127.0.0.1:8001
      - "unix:relative.sock"
      - { address: "127.0.0.1:8009", weight: 0 }
    policy: hash
    retry: { on: [error, http_404] }
servers:
  - routes:
      - path: /
        proxy: { to: app }
`);
  assert.equal(out.length, 4, out.join('\n'));
  assert.match(out[0]!, /^portico\.yaml:5:9: upstreams\.app\.servers\[1\]: expected unix:\/absolute\/path\.sock, got 'unix:relative\.sock'/);
  assert.match(out[1]!, /^portico\.yaml:6:\d+: upstreams\.app\.servers\[2\]\.weight: /);
  assert.match(out[2]!, /^portico\.yaml:7:13: upstreams\.app\.policy: hash needs a key/);
  assert.match(out[3]!, /^portico\.yaml:8:26: upstreams\.app\.retry\.on\[1\]: expected error, timeout, non_idempotent, http_5xx or http_NNN/);
});

test('cross-field pool checks: duplicates, only backups, tls without https, health port on a unix socket', () => {
  const out = problems(`upstreams:
  a: { servers: ["127.0.0.1:8001", "http://127.0.0.1:8001/"] }
  b: { servers: [{ address: "127.0.0.1:8002", backup: true }] }
  c: { servers: ["127.0.0.1:8003"], tls: { insecure_skip_verify: true } }
  d: { servers: ["unix:/run/app.sock"], health_check: { port: 9000 } }
servers:
  - routes:
      - { path: /, respond: { status: 200 } }
`);
  assert.equal(out.length, 4, out.join('\n'));
  assert.match(out[0]!, /upstreams\.a\.servers\[1\]: 127\.0\.0\.1:8001 is already servers\[0\]/);
  assert.match(out[1]!, /upstreams\.b\.servers: expected at least one server that is neither backup nor down/);
  assert.match(out[2]!, /upstreams\.c\.tls: tls applies to https:\/\/ servers/);
  assert.match(out[3]!, /upstreams\.d\.health_check\.port: a unix socket server has no port/);
});

test('match.remote_ip takes CIDRs and addresses; anything else is located', () => {
  const out = problems(`servers:
  - routes:
      - path: /
        match: { remote_ip: [10.0.0.0/8, office] }
        respond: { status: 200 }
`);
  assert.deepEqual(out, [`portico.yaml:4:42: servers[0].routes[0].match.remote_ip[1]: expected a CIDR, an IP address or 'private_ranges', got 'office'`]);
});

test('two routes with one path: allowed with match, a compile error when the second could never be used', () => {
  const cfg = parseConfigText(
    `servers:
  - routes:
      - { path: /app/, respond: { status: 200 } }
      - { path: /app/, match: { remote_ip: [127.0.0.2] }, respond: { status: 201 } }
`,
    'portico.yaml',
  );
  assert.throws(
    () => compile(cfg, { log: silentLog(), upstream: { hosts: new HostRegistry() } }, 'portico.yaml'),
    (err: ConfigError) => /servers\[0\]\.routes\[1\]\.path: location "\/app\/" already has a route without 'match' before this one/.test(err.message),
  );
});

test('a tls.ca file that cannot be read is a compile error naming the pool', () => {
  const cfg = parseConfigText(
    `upstreams:
  api: { servers: ["https://127.0.0.1:8443"], tls: { ca: does-not-exist.pem } }
servers:
  - routes:
      - { path: /, proxy: { to: api } }
`,
    '/tmp/portico.yaml',
  );
  const hosts = new HostRegistry();
  assert.throws(
    () => compile(cfg, { log: silentLog(), upstream: { hosts } }, '/tmp/portico.yaml'),
    (err: ConfigError) => /\/tmp\/portico\.yaml: upstreams\.api\.tls\.ca: cannot read \/tmp\/does-not-exist\.pem: ENOENT/.test(err.message),
  );
  assert.equal(hosts.size, 0, 'a failed compile gives its host states back');
});

test('upstream address forms', async () => {
  const { parseUpstream } = await import('../../src/config/address.js');
  const key = (a: string) => parseUpstream(a)?.key;
  assert.equal(key('127.0.0.1:8000'), '127.0.0.1:8000');
  assert.equal(key('http://app'), 'app:80');
  assert.equal(key('http://app:8001/'), 'app:8001');
  assert.equal(key('https://api.internal'), 'https://api.internal:443');
  assert.equal(key('https://[::1]:8443'), 'https://[::1]:8443');
  assert.equal(key('unix:/run/gunicorn.sock'), 'unix:/run/gunicorn.sock');
  assert.equal(key('unix//run/gunicorn.sock'), 'unix:/run/gunicorn.sock', "Caddy's spelling");
  for (const bad of ['localhost', 'localhost:', 'unix:relative.sock', 'http://app/path', 'ftp://x:1', '::1:80']) assert.equal(key(bad), undefined, bad);
});
