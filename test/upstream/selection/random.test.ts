import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomPolicy } from '../../../src/upstream/selection/random.js';
import { FakeCandidate, deps, fakeRequest, runPolicySuite } from './policy.suite.js';

runPolicySuite('random', (d) => new RandomPolicy(d));

test('random: shares follow the weights (20,000 picks, within 2 points)', () => {
  const servers = [new FakeCandidate('a', 1), new FakeCandidate('b', 3), new FakeCandidate('c', 6)];
  const policy = new RandomPolicy(deps(7));
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  const n = 20_000;
  for (let i = 0; i < n; i++) counts[policy.select(servers, fakeRequest())!.key]!++;
  for (const [k, share] of [['a', 0.1], ['b', 0.3], ['c', 0.6]] as const) {
    assert.ok(Math.abs(counts[k]! / n - share) < 0.02, `${k}: ${counts[k]! / n} vs ${share}`);
  }
});
