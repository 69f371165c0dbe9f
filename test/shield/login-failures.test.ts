/**
 * Failed basic_auth attempts per client address (src/shield/login-failures.ts), on a fake
 * clock: the limit, Retry-After until the window passes, checks in flight counted in advance,
 * successes not counted, bounded memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginFailures } from '../../src/shield/login-failures.js';

function setup(max = 3, maxKeys = 100) {
  let now = 1_000_000;
  const failures = new LoginFailures({ max, window: 60_000, maxKeys, now: () => now });
  return { failures, advance: (ms: number) => (now += ms) };
}

test('max failures within the window, then Retry-After until it has passed', () => {
  const { failures, advance } = setup();
  for (let i = 0; i < 3; i++) {
    assert.equal(failures.begin('a'), 0);
    failures.end('a', true);
    advance(1000);
  }
  assert.equal(failures.begin('a'), 57, 'the window started 3s ago');
  assert.equal(failures.begin('b'), 0, 'another address is not affected');
  failures.end('b', true);
  advance(56_500);
  assert.equal(failures.begin('a'), 1);
  advance(500);
  assert.equal(failures.begin('a'), 0, 'a new window');
  failures.end('a', true);
  assert.equal(failures.begin('a'), 0, 'one failure so far in this window');
});

test('checks in flight count in advance; successes do not count and leave nothing behind', () => {
  const { failures } = setup();
  assert.equal(failures.begin('a'), 0);
  assert.equal(failures.begin('a'), 0);
  assert.equal(failures.begin('a'), 0);
  assert.equal(failures.begin('a'), 1, 'three checks running: the fourth waits');
  failures.end('a', false);
  failures.end('a', false);
  failures.end('a', false);
  assert.equal(failures.size, 0, 'an address with only successes is forgotten');
  for (let i = 0; i < 10; i++) {
    assert.equal(failures.begin('a'), 0, 'successes never lock anyone out');
    failures.end('a', false);
  }
});

test('max 0: no limit; memory bounded by maxKeys (oldest forgotten)', () => {
  const off = setup(0).failures;
  for (let i = 0; i < 100; i++) {
    assert.equal(off.begin('a'), 0);
    off.end('a', true);
  }
  assert.equal(off.size, 0);
  const { failures } = setup(1, 10);
  for (let i = 0; i < 50; i++) {
    failures.begin(`10.0.0.${i}`);
    failures.end(`10.0.0.${i}`, true);
  }
  assert.equal(failures.size, 10);
  assert.ok(failures.begin('10.0.0.49') > 0, 'a recent address is still remembered');
  assert.equal(failures.begin('10.0.0.0'), 0, 'the oldest was forgotten (the lenient outcome)');
});
