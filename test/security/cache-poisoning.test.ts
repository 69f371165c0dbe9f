/**
 * The response cache must never hand one client's answer to another, nor let a request past a
 * rule (issue 15):
 *  - cache deception: a path that looks static (/account/x.css) on a cached route, answered by
 *    the app with a user's page, is not stored for others when the page says private, sets a
 *    cookie or varies on Cookie;
 *  - a response's Set-Cookie is never stored (not even when Set-Cookie is ignored for the
 *    decision: the cookie goes to the request that filled the entry only);
 *  - unkeyed headers: X-Forwarded-Host from a client never reaches the app (Portico writes its
 *    own), and the default key has the Host, so a forged Host cannot poison another host's entry;
 *  - guards run before a hit: a stored response never answers a request basic_auth refuses;
 *  - response_headers computed from the request are refused on a cached route (they would be
 *    stored and served to everyone);
 *  - PURGE only from the configured addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerWith, startCached, startOrigin, status, text } from '../cache/support.js';
import { http } from '../proxy/support.js';
import { validateConfig } from '../../src/config/load.js';
import { compile } from '../../src/compile/compile.js';
import { silentLog } from '../../src/log/error-log.js';
import { ConfigError } from '../../src/errors.js';
import { hashPassword } from '../../src/shield/password-hash.js';

/** The app: /account/* is the page of whoever's session cookie came, whatever the suffix. */
function accountApp(extra: Record<string, string>) {
  return startOrigin((req, res) => {
    const user = /session=(\w+)/.exec(String(req.headers.cookie ?? ''))?.[1] ?? 'anonymous';
    const body = `account of ${user}`;
    res.writeHead(200, { 'Content-Type': 'text/css', 'Content-Length': String(body.length), ...extra });
    res.end(body);
  });
}

for (const [why, headers] of [
  ['Cache-Control: private', { 'Cache-Control': 'private' }],
  ['Vary: Cookie', { Vary: 'Cookie' }],
  ['Set-Cookie', { 'Set-Cookie': 'seen=1; HttpOnly' }],
  ['Cache-Control: no-store', { 'Cache-Control': 'no-store' }],
] as const) {
  test(`cache deception: /account/x.css forced into the cache (valid 200 1h) is not served to another client when the page says ${why}`, async () => {
    const origin = await accountApp(headers);
    const p = await startCached(origin.address, { valid: { '200': '1h' } }, { route: { path: '~ \\.css$' } });
    try {
      const victim = await p.get('/account/x.css', { Cookie: 'session=victim' });
      assert.equal(text(victim), 'account of victim');
      const attacker = await p.get('/account/x.css');
      assert.equal(text(attacker), 'account of anonymous');
      assert.notEqual(status(attacker), 'HIT');
    } finally {
      await p.close();
      await origin.close();
    }
  });
}

test('a response\'s Set-Cookie is never stored: with ignore_headers Set-Cookie the entry is stored without it', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60', 'Set-Cookie': 'sessionid=secret-of-the-first; HttpOnly' }));
  const p = await startCached(origin.address, { ignore_headers: ['Set-Cookie'] });
  try {
    const first = await p.get('/c');
    assert.match(String(first.headers['set-cookie']), /secret-of-the-first/);
    const second = await p.get('/c');
    assert.equal(status(second), 'HIT');
    assert.equal(second.headers['set-cookie'], undefined);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('unkeyed headers: a client\'s X-Forwarded-Host never reaches the app, and a forged Host has its own entry', async () => {
  const origin = await startOrigin((req, res) => {
    const body = `links to https://${req.headers['x-forwarded-host'] ?? req.headers.host}/`;
    res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Length': String(body.length) });
    res.end(body);
  });
  const p = await startCached(origin.address);
  try {
    const poisoned = await http(`${p.url}/home`, { headers: { Host: 'site.example', 'X-Forwarded-Host': 'evil.example' } });
    assert.equal(text(poisoned), 'links to https://site.example/');
    await http(`${p.url}/home`, { headers: { Host: 'evil.example' } });
    const victim = await http(`${p.url}/home`, { headers: { Host: 'site.example' } });
    assert.equal(status(victim), 'HIT');
    assert.equal(text(victim), 'links to https://site.example/');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('guards run before a hit: an entry stored for an authenticated user is never served to a request basic_auth refuses', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'public, max-age=60' }));
  const hash = await hashPassword('pw');
  const p = await startCached(origin.address, {}, { route: { basic_auth: { realm: 'r', users: { alice: hash } } } });
  try {
    const ok = await p.get('/secret', { Authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` });
    assert.equal(ok.status, 200);
    assert.equal(status(await p.get('/secret', { Authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` })), 'HIT');
    const refused = await p.get('/secret');
    assert.equal(refused.status, 401);
    assert.equal(status(refused), undefined);
    assert.doesNotMatch(text(refused), /secret #/);
    const wrong = await p.get('/secret', { Authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` });
    assert.equal(wrong.status, 401);
    assert.equal(origin.seen.length, 1);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('response_headers computed from the request are refused on a cached route; constants are fine', () => {
  const config = (value: string) =>
    validateConfig(
      {
        cache: { main: {} },
        servers: [{ routes: [{ path: '/', proxy: { to: '127.0.0.1:9' }, cache: 'main', response_headers: { add: { 'X-Who': value } } }] }],
      },
      'test',
    );
  for (const value of ['{remote_ip}', '{header.Origin}', 'id={cookie.sessionid}', '{host}']) {
    assert.throws(
      () => compile(config(value), { log: silentLog(), dataDir: '/nonexistent' }),
      (err: unknown) => err instanceof ConfigError && /computed from the request, but the route's responses are cached/.test(err.message),
      value,
    );
  }
  compile(config('DENY'), { log: silentLog(), dataDir: '/nonexistent' }).groups.close();
});

test('PURGE from an address not listed is refused and removes nothing; without `purge` PURGE goes upstream like any method', async () => {
  const origin = await startOrigin(answerWith({ 'Cache-Control': 'max-age=60' }));
  const guarded = await startCached(origin.address, { purge: { allow: ['192.0.2.1'] } });
  const open = await startCached(origin.address);
  try {
    await guarded.get('/x');
    assert.equal((await guarded.get('/x', {}, 'PURGE')).status, 403);
    assert.equal(status(await guarded.get('/x')), 'HIT');
    await open.get('/x');
    const passed = await open.get('/x', {}, 'PURGE');
    assert.equal(passed.status, 200);
    assert.equal(origin.seen.at(-1)!.method, 'PURGE');
    assert.equal(status(await open.get('/x')), 'HIT');
  } finally {
    await guarded.close();
    await open.close();
    await origin.close();
  }
});
