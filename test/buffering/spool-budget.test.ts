/**
 * The spool under a SpoolBudget (temp_files): every byte on disk is reserved first and given
 * back when the file is drained (it is truncated) or closed, so `reserved` always equals the
 * size of the temp files; the per-connection and total caps hold; a spool the budget refuses
 * keeps its chunk in memory, asks the producer to wait, and still returns every byte in
 * order; synchronous writes are cut to 64 KiB and paced to WRITE_PER_TURN per event-loop turn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Spool } from '../../src/buffering/spool.js';
import { ConnectionAccount, SpoolBudget, WRITE_PER_TURN, WRITE_SLICE } from '../../src/buffering/spool-budget.js';
import { tempFiles } from '../../src/buffering/temp-file.js';
import { eventually } from '../proxy/support.js';
import { tempFileBytes } from '../security/spool-support.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KiB = 1024;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function budget(total: number, perConnection: number): SpoolBudget {
  return new SpoolBudget({ total, perConnection, dir: tmpdir() });
}

/** Reads everything back, one chunk per read, and checks the accounting at each step. */
function readAll(spool: Spool, check: () => void = () => {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const next = () =>
      spool.read((err, chunk) => {
        if (err) return reject(err);
        check();
        if (chunk === null) return resolve(Buffer.concat(parts));
        parts.push(chunk);
        setImmediate(next);
      });
    next();
  });
}

test('budget: reserved equals the bytes on disk; a drained file is truncated and its bytes given back', async () => {
  const b = budget(Infinity, Infinity);
  const account = new ConnectionAccount();
  const spool = new Spool({ memory: 0, file: Infinity, budget: b, account });
  const data = randomBytes(3 * WRITE_PER_TURN);
  for (let at = 0; at < data.length; at += 60 * KiB) {
    // Past a turn's write credit the producer waits for the next turn.
    if (!spool.push(data.subarray(at, at + 60 * KiB))) await new Promise<void>((resolve) => (spool.onSpace = resolve));
    assert.equal(tempFileBytes().bytes, b.reserved, 'reserved = bytes on disk');
  }
  assert.equal(b.reserved, data.length);
  assert.equal(account.reserved, data.length);
  assert.equal(tempFileBytes().bytes, data.length);
  spool.end();
  const back = await readAll(spool, () => assert.equal(tempFileBytes().bytes, b.reserved, 'reserved = bytes on disk'));
  assert.equal(sha(back), sha(data));
  assert.equal(b.reserved, 0);
  assert.equal(account.reserved, 0);
  assert.equal(tempFileBytes().bytes, 0, 'the drained file was truncated');
  spool.destroy();
  await eventually(() => tempFiles.open === 0, 'the descriptor to be closed');
});

test('budget: past the connection cap the chunk waits in memory, the producer is paused, bytes come back in order', async () => {
  const b = budget(Infinity, 256 * KiB);
  const account = new ConnectionAccount();
  const spool = new Spool({ memory: 16 * KiB, file: Infinity, budget: b, account });
  const data = randomBytes(2 * 1024 * KiB);
  let waits = 0;
  let maxReserved = 0;
  let maxBacklog = 0;
  const produced = (async () => {
    for (let at = 0; at < data.length; at += 50 * KiB) {
      const ok = spool.push(data.subarray(at, at + 50 * KiB));
      maxReserved = Math.max(maxReserved, b.reserved, account.reserved);
      maxBacklog = Math.max(maxBacklog, spool.backlog);
      if (!ok) {
        waits++;
        assert.equal(spool.stuck, true, 'only the reader can make room: its own file is at the cap');
        await new Promise<void>((resolve) => (spool.onSpace = resolve));
      }
    }
    spool.end();
  })();
  // The reader starts late: the cap must have been met first.
  await eventually(() => waits > 0, 'the producer to be paused');
  const back = await readAll(spool);
  await produced;
  assert.equal(sha(back), sha(data));
  assert.ok(maxReserved <= 256 * KiB, `never more than the cap on disk (${maxReserved})`);
  assert.ok(maxBacklog <= 16 * KiB + 256 * KiB + 50 * KiB, `memory holds one chunk past the file (${maxBacklog})`);
  assert.equal(b.reserved, 0);
  spool.destroy();
});

test('budget: the total cap is shared; a spool refused by it is retried when another releases', async () => {
  const b = budget(300 * KiB, Infinity);
  const a1 = new ConnectionAccount();
  const a2 = new ConnectionAccount();
  const first = new Spool({ memory: 0, file: Infinity, budget: b, account: a1 });
  const second = new Spool({ memory: 0, file: Infinity, budget: b, account: a2 });
  const chunk = randomBytes(64 * KiB);
  for (let i = 0; i < 4; i++) assert.equal(first.push(chunk), true); // 256 KiB
  assert.equal(second.push(chunk), false, 'the total is spent');
  assert.equal(second.stuck, false, 'others hold the budget: it can come back');
  assert.equal(b.reserved, 256 * KiB);
  assert.equal(a2.reserved, 0);
  const space = new Promise<void>((resolve) => (second.onSpace = resolve));
  first.destroy();
  assert.equal(b.reserved, 0);
  await space;
  assert.equal(b.reserved, 64 * KiB, 'the waiting chunk went to disk once the budget was released');
  assert.equal(a2.reserved, 64 * KiB);
  second.destroy();
  assert.equal(b.reserved, 0);
  assert.equal(a1.reserved + a2.reserved, 0);
});

test('budget: a spool larger than the cap could ever allow is stuck; 0 spools nothing to disk', () => {
  const b = budget(128 * KiB, Infinity);
  const spool = new Spool({ memory: 0, file: Infinity, budget: b });
  assert.equal(spool.push(randomBytes(64 * KiB)), true);
  assert.equal(spool.push(randomBytes(64 * KiB)), true);
  assert.equal(spool.push(randomBytes(1)), false);
  assert.equal(spool.stuck, true);
  spool.destroy();
  const none = new Spool({ memory: 0, file: Infinity, budget: budget(0, 0) });
  assert.equal(none.push(Buffer.from('x')), false);
  assert.equal(none.spilled, false);
  assert.equal(none.stuck, true);
  none.destroy();
  assert.equal(b.reserved, 0);
});

test('pacing: one turn writes at most WRITE_PER_TURN (plus one slice); the rest follows on later turns', async () => {
  const b = budget(Infinity, Infinity);
  const spool = new Spool({ memory: 0, file: Infinity, budget: b });
  const data = randomBytes(4 * WRITE_PER_TURN);
  // One push of 4 MiB: cut into slices, at most a turn's worth written now.
  assert.equal(spool.push(data), false);
  assert.ok(spool.onDisk <= WRITE_PER_TURN + WRITE_SLICE, `written this turn: ${spool.onDisk}`);
  assert.ok(spool.onDisk >= WRITE_PER_TURN - WRITE_SLICE);
  assert.equal(spool.backlog, data.length);
  let turns = 0;
  const space = new Promise<void>((resolve) => (spool.onSpace = resolve));
  let spaced = false;
  void space.then(() => (spaced = true));
  while (!spaced && turns < 100) {
    await turn();
    turns++;
    assert.ok(spool.onDisk <= (turns + 1) * (WRITE_PER_TURN + WRITE_SLICE));
  }
  assert.equal(spaced, true);
  assert.ok(turns >= 3, `took ${turns} turns`);
  assert.equal(spool.onDisk, data.length);
  spool.end();
  assert.equal(sha(await readAll(spool)), sha(data));
  spool.destroy();
  assert.equal(b.reserved, 0);
});

test('budget: a spool that becomes stuck on a later turn (its producer paused) says so through onStuck', async () => {
  const b = budget(Infinity, WRITE_PER_TURN + WRITE_PER_TURN / 2);
  const spool = new Spool({ memory: 0, file: Infinity, budget: b });
  assert.equal(spool.push(randomBytes(2 * WRITE_PER_TURN)), false, 'a turn of writes, the rest waits');
  assert.equal(spool.stuck, false, 'after one turn it could still fit');
  const stuck = new Promise<void>((resolve) => (spool.onStuck = resolve));
  await stuck;
  assert.equal(spool.stuck, true);
  assert.ok(spool.onDisk <= WRITE_PER_TURN + WRITE_PER_TURN / 2);
  spool.destroy();
  assert.equal(b.reserved, 0);
});
