import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CookiePolicy } from '../../../src/upstream/selection/cookie.js';
import { RoundRobin } from '../../../src/upstream/selection/round-robin.js';
import { FakeCandidate, fakeRequest, runPolicySuite } from './policy.suite.js';

const sticky = (secret = 's3cret', maxAge?: number) => new CookiePolicy({ name: 'lb', secret, maxAge }, new RoundRobin());

runPolicySuite('cookie', () => sticky());

const servers = () => ['8001', '8002', '8003'].map((p) => new FakeCandidate(`127.0.0.1:${p}`));

function cookieFrom(setCookie: string): string {
  return setCookie.split(';')[0]!;
}

test('cookie: a new client gets a cookie naming its server, and with it stays there', () => {
  const list = servers();
  const policy = sticky();
  const req = fakeRequest();
  const chosen = policy.select(list, req)!;
  assert.equal(req.cookies.length, 1);
  assert.match(req.cookies[0]!, /^lb=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax$/);
  for (let i = 0; i < 30; i++) {
    const again = fakeRequest({ headers: { cookie: `other=1; ${cookieFrom(req.cookies[0]!)}` }, clientIp: `10.0.0.${i}` });
    assert.equal(policy.select(list, again), chosen);
    assert.deepEqual(again.cookies, [], 'a valid cookie is not set again');
  }
});

test('cookie: the value is opaque and depends only on the server address and the secret', () => {
  const a = sticky('k1');
  const b = sticky('k1');
  const c = sticky('k2');
  assert.equal(a.valueFor('127.0.0.1:8001'), b.valueFor('127.0.0.1:8001'));
  assert.notEqual(a.valueFor('127.0.0.1:8001'), c.valueFor('127.0.0.1:8001'));
  assert.ok(!a.valueFor('127.0.0.1:8001').includes('8001'));
});

test('cookie: stickiness survives the other servers going away and coming back', () => {
  const list = servers();
  const policy = sticky();
  const first = fakeRequest();
  const home = policy.select(list, first)!;
  const cookie = cookieFrom(first.cookies[0]!);
  for (const other of list.filter((s) => s !== home)) other.healthy = false;
  assert.equal(policy.select(list, fakeRequest({ headers: { cookie } })), home);
  for (const other of list) other.healthy = true;
  // And a new policy instance (a reload) with the servers listed in another order.
  assert.equal(sticky().select([...list].reverse(), fakeRequest({ headers: { cookie } })), home);
});

test('cookie: a client whose server is gone moves and gets a new cookie; an unknown value is ignored', () => {
  const list = servers();
  const policy = sticky();
  const first = fakeRequest();
  const home = policy.select(list, first)!;
  home.healthy = false;
  const moved = fakeRequest({ headers: { cookie: cookieFrom(first.cookies[0]!) } });
  const elsewhere = policy.select(list, moved)!;
  assert.notEqual(elsewhere, home);
  assert.equal(moved.cookies.length, 1);
  assert.notEqual(cookieFrom(moved.cookies[0]!), cookieFrom(first.cookies[0]!));
  const forged = fakeRequest({ headers: { cookie: 'lb=0123456789abcdef0123456789abcdef' } });
  assert.ok(policy.select(list, forged));
  assert.equal(forged.cookies.length, 1);
});

test('cookie: Secure on TLS connections, Max-Age when configured', () => {
  const req = fakeRequest({ secure: true });
  sticky('x', 3600).select(servers(), req);
  assert.match(req.cookies[0]!, /; Max-Age=3600; Secure$/);
});
