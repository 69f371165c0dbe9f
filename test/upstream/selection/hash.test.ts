import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HashPolicy } from '../../../src/upstream/selection/hash.js';
import { RandomPolicy } from '../../../src/upstream/selection/random.js';
import { parseHashKey } from '../../../src/config/hash-key.js';
import { FakeCandidate, deps, fakeRequest, runPolicySuite } from './policy.suite.js';

runPolicySuite('hash (header)', (d) => new HashPolicy(parseHashKey('header:X-User')!, new RandomPolicy(d)));
runPolicySuite('hash (uri)', (d) => new HashPolicy(parseHashKey('uri')!, new RandomPolicy(d)));
runPolicySuite('hash (cookie)', (d) => new HashPolicy(parseHashKey('cookie:sessionid')!, new RandomPolicy(d)));

const byUri = () => new HashPolicy({ on: 'uri' }, new RandomPolicy(deps()));
const servers = (n: number) => Array.from({ length: n }, (_, i) => new FakeCandidate(`10.0.0.${i + 1}:8000`));

test('hash: adding a fifth server moves about 1/5 of the keys, all of them to the new server', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `/product/${i}`);
  const four = servers(4);
  const five = [...four, new FakeCandidate('10.0.0.5:8000')];
  const policy = byUri();
  let moved = 0;
  for (const uri of keys) {
    const before = policy.select(four, fakeRequest({ uri }))!;
    const after = policy.select(five, fakeRequest({ uri }))!;
    if (after !== before) {
      moved++;
      assert.equal(after.key, '10.0.0.5:8000', `${uri} moved between old servers`);
    }
  }
  const share = moved / keys.length;
  assert.ok(share > 0.17 && share < 0.23, `moved ${share} of the keys, expected about 0.2`);
});

test('hash: removing a server moves only its own keys', () => {
  const list = servers(5);
  const policy = byUri();
  const keys = Array.from({ length: 2000 }, (_, i) => `/k/${i}`);
  const before = keys.map((uri) => policy.select(list, fakeRequest({ uri }))!);
  const fewer = list.filter((s) => s.key !== '10.0.0.3:8000');
  keys.forEach((uri, i) => {
    if (before[i]!.key !== '10.0.0.3:8000') assert.equal(policy.select(fewer, fakeRequest({ uri })), before[i]);
  });
});

test('hash: weights set each server\'s share of the keys', () => {
  const list = [new FakeCandidate('a:1', 1), new FakeCandidate('b:1', 3)];
  const policy = byUri();
  let b = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) if (policy.select(list, fakeRequest({ uri: `/w/${i}` }))!.key === 'b:1') b++;
  assert.ok(Math.abs(b / n - 0.75) < 0.02, `b got ${b / n}`);
});

test('hash on a header or cookie: the same value goes to the same server; without it, the fallback decides', () => {
  const list = servers(3);
  const header = new HashPolicy(parseHashKey('header:X-Tenant')!, new RandomPolicy(deps()));
  const cookie = new HashPolicy(parseHashKey('cookie:sessionid')!, new RandomPolicy(deps()));
  for (const tenant of ['acme', 'globex', 'initech']) {
    const first = header.select(list, fakeRequest({ headers: { 'x-tenant': tenant } }));
    for (let i = 0; i < 20; i++) assert.equal(header.select(list, fakeRequest({ headers: { 'x-tenant': tenant }, clientIp: `10.0.0.${i}` })), first);
    const viaCookie = cookie.select(list, fakeRequest({ headers: { cookie: `a=1; sessionid=${tenant}; b=2` } }));
    assert.equal(cookie.select(list, fakeRequest({ headers: { cookie: `sessionid=${tenant}` } })), viaCookie);
  }
  const seen = new Set(Array.from({ length: 200 }, () => header.select(list, fakeRequest())!.key));
  assert.equal(seen.size, 3, 'requests without the header are spread by the random fallback');
});
