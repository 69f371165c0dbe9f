// A bad config names file, line, column, key path and what is expected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

function problems(yaml: string): string[] {
  try {
    parseConfigText(yaml, 'portico.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail('expected a ConfigError');
}

const BASE = (route: string) => `servers:
  - listen: [":8080"]
    routes:
      - path: /
        proxy: { to: "127.0.0.1:3000" }
${route}`;

test('bad upstream address: file:line:col, key path, expectation', () => {
  const out = problems(BASE(`      - path: /api/
        proxy: { to: "localhost:" }
`));
  assert.deepEqual(out, [`portico.yaml:7:22: servers[0].routes[1].proxy.to: expected host:port, got 'localhost:'`]);
});

test('every error is reported, not just the first', () => {
  const out = problems(`servers:
  - listen: ["nonsense"]
    routes:
      - path: api/
        proxy: { to: "127.0.0.1:99999", read_timeout: 30 parsecs }
      - path: /x
        respond: { status: 200 }
        redirect: { to: "/y" }
      - path: /z
        prox: {}
`);
  assert.equal(out.length, 7, out.join('\n'));
  assert.match(out[0]!, /^portico\.yaml:2:14: servers\[0\]\.listen\[0\]: expected a port or \[host\]:port/);
  assert.match(out[1]!, /^portico\.yaml:4:15: servers\[0\]\.routes\[0\]\.path: expected a path starting with '\/', got 'api\/'/);
  assert.match(out[2]!, /^portico\.yaml:5:22: servers\[0\]\.routes\[0\]\.proxy\.to: expected host:port, got '127\.0\.0\.1:99999'/);
  assert.match(out[3]!, /^portico\.yaml:5:55: servers\[0\]\.routes\[0\]\.proxy\.read_timeout: expected a duration/);
  assert.match(out[4]!, /^portico\.yaml:6:9: servers\[0\]\.routes\[1\]: expected one handler, got respond and redirect/);
  assert.match(out[5]!, /^portico\.yaml:9:9: servers\[0\]\.routes\[2\]: expected one handler: proxy, files, respond or redirect/);
  assert.match(out[6]!, /^portico\.yaml:10:9: servers\[0\]\.routes\[2\]\.prox: unknown key 'prox'/);
});

test('YAML syntax errors carry line and column', () => {
  const out = problems('servers:\n  - listen: [":8080"\n    routes: []\n');
  assert.equal(out.length >= 1, true);
  assert.match(out[0]!, /^portico\.yaml:\d+:\d+: /);
});

test('wrong types name what was expected and what was found', () => {
  const out = problems(`servers:
  - routes:
      - path: /
        respond: { status: "ok" }
`);
  assert.deepEqual(out, [`portico.yaml:4:28: servers[0].routes[0].respond.status: expected number, got 'ok'`]);
});

test('missing required keys and empty files', () => {
  assert.match(problems('servers: []\n')[0]!, /^portico\.yaml:1:10: servers: expected at least 1 item/);
  assert.match(problems('')[0]!, /^portico\.yaml:1: the config is empty/);
  assert.match(problems('servers:\n  - listen: [":80"]\n')[0]!, /servers\[0\]\.routes: required array is missing/);
});

test('trusted_proxies must be CIDRs', () => {
  const out = problems(`servers:
  - trusted_proxies: ["10.0.0.0/8", "not-an-ip"]
    routes:
      - path: /
        respond: {}
`);
  assert.match(out[0]!, /^portico\.yaml:2:37: servers\[0\]\.trusted_proxies\[1\]: expected a CIDR, an IP address or 'private_ranges', got 'not-an-ip'/);
});

test('JSON configs are accepted and located too', () => {
  const out = problems('{"servers": [{"routes": [{"path": "/", "proxy": {"to": "x:"}}]}]}');
  assert.match(out[0]!, /^portico\.yaml:1:\d+: servers\[0\]\.routes\[0\]\.proxy\.to: expected host:port, got 'x:'/);
});

test('a valid config gets defaults and durations in milliseconds', () => {
  const config = parseConfigText(
    `servers:
  - routes:
      - path: /api/
        proxy: { to: ["127.0.0.1:8000"], read_timeout: 30s }
`,
    'portico.yaml',
  );
  const server = config.servers[0]!;
  assert.deepEqual(server.listen, [':8080']);
  assert.equal(server.routes[0]!.proxy!.read_timeout, 30_000);
  assert.equal(server.routes[0]!.proxy!.connect_timeout, 5_000);
  assert.equal(config.shutdown_timeout, 10_000);
});

test("an unknown key says which valid key at that place is one typo away: 'did you mean ...?'", () => {
  const out = problems(`servers:
  - lisen: 8080
    routes:
      - path: /
        proxxy: { to: "127.0.0.1:3000", read_timout: 30s }
      - path: /x
        respond: { body: x, colour: red }
upstream:
  a: { servers: ["127.0.0.1:1"] }
`);
  assert.deepEqual(out, [
    `portico.yaml:2:5: servers[0].lisen: unknown key 'lisen'; did you mean 'listen'?`,
    `portico.yaml:4:9: servers[0].routes[0]: expected one handler: proxy, files, respond or redirect`,
    `portico.yaml:5:9: servers[0].routes[0].proxxy: unknown key 'proxxy'; did you mean 'proxy'?`,
    `portico.yaml:7:29: servers[0].routes[1].respond.colour: unknown key 'colour'`,
    `portico.yaml:8:1: upstream: unknown key 'upstream'; did you mean 'upstreams'?`,
  ]);
  // Inside a pool, and through a union (tls: files or acme options): the keys of that place.
  const pool = problems(`upstreams:
  app: { servers: ["127.0.0.1:1"], helth_check: { path: / } }
servers:
  - routes: [{ path: /, proxy: { to: app } }]
`);
  assert.deepEqual(pool, [`portico.yaml:2:36: upstreams.app.helth_check: unknown key 'helth_check'; did you mean 'health_check'?`]);
});

test('listen: a number is a port, alone or in a list', () => {
  const config = parseConfigText(`servers:
  - listen: 8080
    routes: [{ path: /, respond: { body: x } }]
  - listen: [8081, "127.0.0.1:8082"]
    routes: [{ path: /, respond: { body: x } }]
`, 'portico.yaml');
  assert.equal(config.servers[0]!.listen, '8080');
  assert.deepEqual(config.servers[1]!.listen, ['8081', '127.0.0.1:8082']);
  assert.deepEqual(problems(`servers:\n  - listen: 70000\n    routes: [{ path: /, respond: { body: x } }]\n`), [
    `portico.yaml:2:13: servers[0].listen: expected a port or [host]:port such as 8080, ':8080' or '127.0.0.1:8080', got '70000'`,
  ]);
});
