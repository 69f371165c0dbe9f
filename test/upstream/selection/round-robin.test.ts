import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobin } from '../../../src/upstream/selection/round-robin.js';
import { FakeCandidate, fakeRequest, runPolicySuite } from './policy.suite.js';

runPolicySuite('round_robin', () => new RoundRobin());

test('round_robin: weights 5, 1, 1 give nginx\'s smooth sequence a a b a c a a', () => {
  const a = new FakeCandidate('a', 5);
  const b = new FakeCandidate('b', 1);
  const c = new FakeCandidate('c', 1);
  const rr = new RoundRobin();
  const seq = Array.from({ length: 14 }, () => rr.select([a, b, c], fakeRequest())!.key).join(' ');
  assert.equal(seq, 'a a b a c a a a a b a c a a');
});

test('round_robin: every window of sum(weights) picks gives each server exactly its weight', () => {
  const servers = [new FakeCandidate('a', 1), new FakeCandidate('b', 2), new FakeCandidate('c', 3)];
  const rr = new RoundRobin();
  for (let window = 0; window < 50; window++) {
    const counts = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const k = rr.select(servers, fakeRequest())!.key;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 2, c: 3 }, `window ${window}`);
  }
});

test('round_robin: equal weights alternate strictly', () => {
  const servers = [new FakeCandidate('a'), new FakeCandidate('b'), new FakeCandidate('c')];
  const rr = new RoundRobin();
  const seq = Array.from({ length: 6 }, () => rr.select(servers, fakeRequest())!.key).join('');
  assert.equal(seq, 'abcabc');
});

test('round_robin: an unavailable server\'s turns go to the others, and it rejoins', () => {
  const servers = [new FakeCandidate('a'), new FakeCandidate('b'), new FakeCandidate('c')];
  const rr = new RoundRobin();
  servers[1]!.healthy = false;
  assert.equal(Array.from({ length: 4 }, () => rr.select(servers, fakeRequest())!.key).join(''), 'acac');
  servers[1]!.healthy = true;
  const back = Array.from({ length: 6 }, () => rr.select(servers, fakeRequest())!.key);
  assert.deepEqual(back.slice().sort(), ['a', 'a', 'b', 'b', 'c', 'c']);
});
