import { test } from 'node:test';
import assert from 'node:assert/strict';
import { First } from '../../../src/upstream/selection/first.js';
import { FakeCandidate, fakeRequest, runPolicySuite } from './policy.suite.js';

runPolicySuite('first', () => new First(), { concentrates: true });

test('first: the first available server in config order, the next one only when it is not', () => {
  const servers = [new FakeCandidate('primary'), new FakeCandidate('secondary'), new FakeCandidate('third')];
  const policy = new First();
  assert.equal(policy.select(servers, fakeRequest())!.key, 'primary');
  servers[0]!.healthy = false;
  assert.equal(policy.select(servers, fakeRequest())!.key, 'secondary');
  servers[1]!.inFlight = servers[1]!.maxConns = 1;
  assert.equal(policy.select(servers, fakeRequest())!.key, 'third');
  servers[0]!.healthy = true;
  assert.equal(policy.select(servers, fakeRequest())!.key, 'primary');
});
