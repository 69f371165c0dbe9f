/**
 * The bcrypt verifier threads (src/shield/verifier-pool.ts): started by the first check, right
 * answers, a bounded queue that refuses (undefined) when full, queued checks nobody waits for
 * dropped unrun, a thread that dies replaced, close() stops them all.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { VerifierPool } from '../../src/shield/verifier-pool.js';

let fast = '';
let slow = '';
before(() => {
  fast = bcrypt.hashSync('right', 4);
  slow = bcrypt.hashSync('right', 13); // a check long enough to still run while the test looks
});

test('threads start with the first check, answer right and wrong, and stop with close()', async () => {
  const pool = new VerifierPool(2, 8);
  assert.equal(pool.threads, 0, 'nothing runs before a password is checked');
  const answers = await Promise.all([pool.verify('right', fast), pool.verify('wrong', fast), pool.verify('right', fast), pool.verify('', fast)]);
  assert.deepEqual(answers, [true, false, true, false]);
  assert.ok(pool.threads >= 1 && pool.threads <= 2, `${pool.threads} threads, at most 2`);
  assert.equal(await pool.verify('right', 'not a bcrypt hash'), false, 'an unreadable hash matches nothing');
  await pool.close();
  assert.equal(pool.threads, 0);
  await assert.rejects(pool.verify('right', fast)!, /closed/);
});

test('a full queue refuses at once; a queued check nobody waits for is dropped unrun', async () => {
  const pool = new VerifierPool(1, 2);
  try {
    const running = pool.verify('wrong', slow)!;
    let gone = false;
    const abandoned = pool.verify('wrong', slow, () => gone)!;
    const queued = pool.verify('right', fast)!;
    assert.equal(pool.queued, 2);
    assert.equal(pool.verify('right', fast), undefined, 'one thread busy, two waiting: full');
    gone = true;
    assert.equal(await running, false);
    await assert.rejects(abandoned, /nobody waits/);
    assert.equal(await queued, true, 'the next one ran');
  } finally {
    await pool.close();
  }
});

test('a thread that dies fails its check only; the next checks get a new thread', async () => {
  const pool = new VerifierPool(1, 4);
  try {
    const dying = pool.verify('right', slow)!;
    const waiting = pool.verify('right', fast)!;
    const [worker] = pool.workers;
    await worker!.terminate();
    await assert.rejects(dying, /exited/);
    assert.equal(await waiting, true, 'the queued check ran on a new thread');
    assert.equal(await pool.verify('wrong', fast), false);
    assert.equal(pool.threads, 1);
    assert.notEqual(pool.workers[0], worker);
  } finally {
    await pool.close();
  }
});
