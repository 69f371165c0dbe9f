import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomTwo } from '../../../src/upstream/selection/random-two.js';
import { FakeCandidate, deps, fakeRequest, runPolicySuite } from './policy.suite.js';

runPolicySuite('random_two', (d) => new RandomTwo(d));

test('random_two: of its two draws it takes the less loaded, so the busiest of three is never picked', () => {
  const servers = [new FakeCandidate('a', 1, true, 9), new FakeCandidate('b', 1, true, 1), new FakeCandidate('c', 1, true, 0)];
  const policy = new RandomTwo(deps(3));
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  for (let i = 0; i < 3000; i++) counts[policy.select(servers, fakeRequest())!.key]!++;
  assert.equal(counts.a, 0);
  // c wins every draw it is in (2 of 3 pairs), b only the pair {a, b}.
  assert.ok(counts.c! > counts.b! * 1.5, JSON.stringify(counts));
});

test('random_two: with one server left it returns that server', () => {
  const only = new FakeCandidate('x', 1, true, 50);
  assert.equal(new RandomTwo(deps()).select([only, new FakeCandidate('y', 1, false)], fakeRequest()), only);
});
