import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeastConn } from '../../../src/upstream/selection/least-conn.js';
import { FakeCandidate, fakeRequest, runPolicySuite } from './policy.suite.js';

runPolicySuite('least_conn', () => new LeastConn());

test('least_conn: prefers the idle server', () => {
  const busy = new FakeCandidate('busy', 1, true, 5);
  const idle = new FakeCandidate('idle', 1, true, 0);
  const lc = new LeastConn();
  for (let i = 0; i < 20; i++) assert.equal(lc.select([busy, idle], fakeRequest()), idle);
});

test('least_conn: compares requests in flight relative to weight', () => {
  // 4 in flight on weight 4 (1 per unit) beats 2 on weight 1 (2 per unit).
  const heavy = new FakeCandidate('heavy', 4, true, 4);
  const light = new FakeCandidate('light', 1, true, 2);
  assert.equal(new LeastConn().select([light, heavy], fakeRequest()), heavy);
});

test('least_conn: as requests start, load spreads to keep servers level', () => {
  const servers = [new FakeCandidate('a'), new FakeCandidate('b'), new FakeCandidate('c')];
  servers[0]!.inFlight = 3;
  const lc = new LeastConn();
  for (let i = 0; i < 9; i++) lc.select(servers, fakeRequest())!.inFlight++;
  assert.deepEqual(servers.map((s) => s.inFlight), [4, 4, 4]);
});

test('least_conn: ties rotate rather than always taking the first server', () => {
  const servers = [new FakeCandidate('a'), new FakeCandidate('b'), new FakeCandidate('c')];
  const lc = new LeastConn();
  const seen = new Set(Array.from({ length: 3 }, () => lc.select(servers, fakeRequest())!.key));
  assert.equal(seen.size, 3);
});
