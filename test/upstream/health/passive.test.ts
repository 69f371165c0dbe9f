// Passive health with nginx's max_fails / fail_timeout semantics, on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassiveHealth } from '../../../src/upstream/health/passive.js';
import { HostState } from '../../../src/upstream/host-state.js';
import { compileConditions } from '../../../src/upstream/conditions.js';
import { FakeClock } from '../../helpers/fake-clock.js';

function setup(maxFails: number, failTimeout = 10_000) {
  const clock = new FakeClock();
  const disabled: string[] = [];
  const passive = new PassiveHealth({ maxFails, failTimeout, failOn: compileConditions(['error', 'timeout']) }, clock, (s) => disabled.push(s.address));
  return { clock, passive, state: new HostState('127.0.0.1:8001'), disabled };
}

test('max_fails failures take the server out for fail_timeout, then one trial request is let through', () => {
  const { clock, passive, state, disabled } = setup(2);
  passive.failed(state);
  assert.equal(passive.allows(state), true, 'one failure of two allowed');
  clock.advance(3_000);
  passive.failed(state);
  assert.equal(passive.allows(state), false);
  assert.deepEqual(disabled, ['127.0.0.1:8001'], 'reaching max_fails is reported once');
  clock.advance(10_000);
  assert.equal(passive.allows(state), false, 'fail_timeout counts from the last failure (still exactly 10s)');
  clock.advance(1);
  assert.equal(passive.allows(state), true, 'fail_timeout over: a trial');
  passive.picked(state);
  assert.equal(passive.allows(state), false, 'only one trial per fail_timeout');
  passive.succeeded(state);
  assert.equal(state.fails, 0, 'the trial succeeded: failures forgotten');
  assert.equal(passive.allows(state), true);
});

test('a failed trial puts the server out for another fail_timeout', () => {
  const { clock, passive, state } = setup(1);
  passive.failed(state);
  clock.advance(10_001);
  passive.picked(state);
  passive.failed(state);
  assert.equal(passive.allows(state), false);
  clock.advance(5_000);
  assert.equal(passive.allows(state), false);
  clock.advance(5_001);
  assert.equal(passive.allows(state), true);
});

test('successes between failures within fail_timeout do not reset the count (nginx)', () => {
  const { clock, passive, state } = setup(3);
  for (let i = 0; i < 3; i++) {
    passive.picked(state);
    passive.failed(state);
    clock.advance(1_000);
    passive.picked(state);
    passive.succeeded(state);
  }
  assert.equal(state.fails, 3);
  assert.equal(passive.allows(state), false);
});

test('a success picked after fail_timeout since the last failure resets the count', () => {
  const { clock, passive, state } = setup(3);
  passive.failed(state);
  passive.failed(state);
  clock.advance(10_001);
  passive.picked(state);
  passive.succeeded(state);
  assert.equal(state.fails, 0);
});

test('max_fails 0 never takes a server out, but failures are still counted for the status page', () => {
  const { passive, state } = setup(0);
  for (let i = 0; i < 10; i++) passive.failed(state);
  assert.equal(passive.allows(state), true);
  assert.equal(state.failures, 10);
});
