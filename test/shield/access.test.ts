/**
 * Access control over real sockets: allow/deny tables (the client IP comes through a trusted
 * proxy's X-Forwarded-For, as nginx's realip would give it), basic auth against bcrypt hashes
 * (inline and an htpasswd file), rate and connection limits with exact counts, and the
 * unknown-Host catch-all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { RawClient, http, one, rawValues } from '../proxy/support.js';
import { hashPassword } from '../../src/shield/password-hash.js';

test('allow/deny: rules in order, first match wins, none matching allows', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({
    servers: [
      {
        trusted_proxies: ['127.0.0.1'],
        routes: [
          { path: '/admin/', ...proxyTo(upstream.address), access: [{ deny: '10.1.2.3' }, { allow: ['10.0.0.0/8', '2001:db8::/32'] }, { deny: 'all' }] },
          { path: '/open/', ...proxyTo(upstream.address), access: [{ deny: ['192.168.0.0/16'] }] },
          { path: '/', respond: { body: 'public' } },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const table: [path: string, client: string, status: number][] = [
    ['/admin/', '10.9.9.9', 200],
    ['/admin/', '10.1.2.3', 403], // the deny before the allow wins
    ['/admin/', '2001:db8::1', 200],
    ['/admin/', '2001:db9::1', 403],
    ['/admin/', '8.8.8.8', 403], // deny all
    ['/open/', '192.168.1.1', 403],
    ['/open/', '8.8.8.8', 200], // no rule matches: allowed
  ];
  for (const [path, client, status] of table) {
    const res = await http(`${portico.url}${path}`, { headers: { 'X-Forwarded-For': client } });
    assert.equal(res.status, status, `${path} from ${client}`);
  }
  assert.equal(upstream.seen.length, table.filter((r) => r[2] === 200).length, 'refused requests never reach the upstream');
});

test('basic auth: bcrypt hashes inline and from an htpasswd file; 401 with a challenge otherwise', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-auth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'htpasswd');
  // htpasswd -B writes $2y$; bcrypt hashes are interchangeable across the prefixes.
  await writeFile(file, `# users\nbob:${(await hashPassword('bob-pass', 4)).replace('$2b$', '$2y$')}\n`);
  const upstream = await startUpstream();
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/', ...proxyTo(upstream.address), basic_auth: { realm: 'Staff "only"', users: { alice: await hashPassword('s3cret: with colon', 4) }, users_file: file } },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const basic = (user: string, pass: string, scheme = 'Basic') => `${scheme} ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  const table: [what: string, authorization: string | undefined, status: number][] = [
    ['no credentials', undefined, 401],
    ['right password', basic('alice', 's3cret: with colon'), 200],
    ['right password again (remembered)', basic('alice', 's3cret: with colon'), 200],
    ['scheme is case-insensitive', basic('alice', 's3cret: with colon', 'basic'), 200],
    ['wrong password', basic('alice', 's3cret'), 401],
    ['unknown user', basic('mallory', 's3cret: with colon'), 401],
    ['user from the htpasswd file', basic('bob', 'bob-pass'), 200],
    ['not base64', 'Basic !!!', 401],
    ['another scheme', 'Bearer abc', 401],
  ];
  for (const [what, authorization, status] of table) {
    const res = await http(`${portico.url}/x`, { headers: authorization ? { Authorization: authorization } : {} });
    assert.equal(res.status, status, what);
    if (status === 401) assert.equal(res.headers['www-authenticate'], 'Basic realm="Staff \\"only\\"", charset="UTF-8"', what);
  }
  assert.equal(upstream.seen.length, 4);
});

test('limit_req over sockets: a burst above the limit yields exactly the expected 429s, with Retry-After', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({
    servers: [
      {
        routes: [
          // 1r/m: nothing drains during the test, so the counts are exact.
          { path: '/api/', ...proxyTo(upstream.address), limit_req: { rate: '1r/m', burst: 3, nodelay: true } },
          { path: '/keyed/', ...proxyTo(upstream.address), limit_req: { rate: '1r/m', key: '{header.X-Api-Key}', status: 503 } },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  const statuses: number[] = [];
  let retryAfter: string | undefined;
  for (let i = 0; i < 10; i++) {
    client.write('GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n');
    const res = await client.response();
    statuses.push(res.status);
    if (res.status === 429) retryAfter = one(res, 'retry-after');
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429, 429, 429, 429, 429], '1 + burst pass, the rest is refused');
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 240, `Retry-After ${retryAfter}`);

  const keyed: [key: string | undefined, status: number][] = [
    ['k1', 200],
    ['k1', 503], // configured status
    ['k2', 200], // another key, another bucket
    [undefined, 200], // no key: not limited (nginx)
    [undefined, 200],
  ];
  for (const [key, status] of keyed) {
    const res = await http(`${portico.url}/keyed/`, { headers: key ? { 'X-Api-Key': key } : {} });
    assert.equal(res.status, status, `key ${key}`);
  }
});

test('limit_req with a delay: excess requests wait instead of being refused', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address), limit_req: { rate: '20r/s', burst: 5 } }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const results = await Promise.all(Array.from({ length: 6 }, () => http(`${portico.url}/`)));
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
});

test('limit_conn: concurrent requests per client beyond max are refused; released when done', async (t) => {
  const held: (() => void)[] = [];
  const upstream = await startUpstream((req, res) => {
    if (req.url === '/hold') held.push(() => res.end('released'));
    else res.end('quick');
  });
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address), limit_conn: { max: 2 } }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const first = http(`${portico.url}/hold`);
  const second = http(`${portico.url}/hold`);
  while (held.length < 2) await new Promise((r) => setTimeout(r, 10));
  const third = await http(`${portico.url}/quick`);
  assert.equal(third.status, 429);
  for (const release of held) release();
  assert.equal((await first).status, 200);
  assert.equal((await second).status, 200);
  assert.equal((await http(`${portico.url}/quick`)).status, 200);
});

test('unknown_host close: other Host names get the connection closed unanswered; 421 variant; respond close', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({
    servers: [{ hosts: ['app.example'], unknown_host: 'close', routes: [{ path: '/', ...proxyTo(upstream.address) }, { path: '/wp-login.php', respond: { close: true } }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  for (const host of ['127.0.0.1', 'evil.example', '']) {
    const client = await RawClient.connect(portico.port);
    client.write(host === '' ? 'GET / HTTP/1.0\r\n\r\n' : `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    const rest = await client.untilClosed();
    assert.equal(rest.length, 0, `no byte for Host ${JSON.stringify(host)}`);
  }
  const probe = await RawClient.connect(portico.port);
  probe.write('GET /wp-login.php HTTP/1.1\r\nHost: app.example\r\n\r\n');
  assert.equal((await probe.untilClosed()).length, 0);
  assert.equal((await http(`http://127.0.0.1:${portico.port}/`, { headers: { Host: 'app.example' } })).status, 200);
  assert.deepEqual(upstream.seen.map((s) => rawValues(s.rawHeaders, 'host')[0]), ['app.example']);

  const p421 = await startPortico({ servers: [{ hosts: ['app.example'], unknown_host: 421, routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => p421.close());
  assert.equal((await http(`${p421.url}/`, { headers: { Host: 'other.example' } })).status, 421);
  assert.equal(upstream.seen.length, 1);
});

test('WebSocket handshakes pass the same checks: 403 and 401 on the raw socket, allowed ones are tunnelled', async (t) => {
  const upstream = await startUpstream();
  const upgrades: string[] = [];
  upstream.server.on('upgrade', (req, socket) => {
    upgrades.push(req.url!);
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });
  const hash = await hashPassword('pw', 4);
  const portico = await startPortico({
    servers: [
      {
        trusted_proxies: ['127.0.0.1'],
        routes: [
          { path: '/denied/', ...proxyTo(upstream.address), access: [{ deny: 'all' }] },
          { path: '/auth/', ...proxyTo(upstream.address), basic_auth: { users: { u: hash } } },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));
  const handshake = (path: string, extra = '') =>
    `GET ${path} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;
  const cases: [path: string, extra: string, status: number][] = [
    ['/denied/ws', '', 403],
    ['/auth/ws', '', 401],
    ['/auth/ws', `Authorization: Basic ${Buffer.from('u:wrong').toString('base64')}\r\n`, 401],
    ['/auth/ws', `Authorization: Basic ${Buffer.from('u:pw').toString('base64')}\r\n`, 101],
  ];
  for (const [path, extra, status] of cases) {
    const client = await RawClient.connect(portico.port);
    client.write(handshake(path, extra));
    const res = await client.response();
    assert.equal(res.status, status, `${path} ${extra}`);
    if (status === 401) assert.match(one(res, 'www-authenticate') ?? '', /^Basic realm="Restricted"/);
    await client.untilClosed();
    client.destroy();
  }
  assert.deepEqual(upgrades, ['/auth/ws']);
});
