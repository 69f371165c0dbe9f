/**
 * The spool under request and response buffering: bytes come back in order across memory and
 * disk, the temp file is private (0600) and has no name, it is rewound once drained, a full
 * backlog asks the producer to wait, and destroying closes the descriptor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { randomBytes, createHash } from 'node:crypto';
import { Spool } from '../../src/buffering/spool.js';
import { tempFiles } from '../../src/buffering/temp-file.js';
import { eventually } from '../proxy/support.js';
import { openTempFds } from '../helpers/temp-files.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function readAll(spool: Spool): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const next = () =>
      spool.read((err, chunk) => {
        if (err) return reject(err);
        if (chunk === null) return resolve(Buffer.concat(parts));
        parts.push(chunk);
        next();
      });
    next();
  });
}

test('spool: memory first, then a private unlinked temp file; order kept; closed on destroy', async () => {
  const spool = new Spool({ memory: 1000, file: Infinity });
  const data = randomBytes(300_000);
  for (let at = 0; at < data.length; at += 777) spool.push(data.subarray(at, at + 777));
  spool.end();
  assert.equal(spool.spilled, true);
  // Every byte is written after the unlink, so by the time the data is on disk the file has no name.
  const back = await readAll(spool);
  const files = openTempFds();
  assert.equal(files.length, 1);
  const file = files[0];
  assert.match(file!.target, /\(deleted\)$/, 'unlinked: no name anyone could open');
  assert.equal(statSync(`/proc/self/fd/${file!.fd}`).mode & 0o777, 0o600);
  assert.equal(sha(back), sha(data));
  spool.destroy();
  await eventually(() => openTempFds().length === 0 && tempFiles.open === 0, 'the descriptor to be closed');
});

test('spool: small bodies never touch the disk', async () => {
  const spool = new Spool({ memory: 64 * 1024, file: Infinity });
  spool.push(Buffer.from('hello '));
  spool.push(Buffer.from('world'));
  spool.end();
  assert.equal(spool.spilled, false);
  assert.equal((await readAll(spool)).toString(), 'hello world');
  spool.destroy();
});

test('spool: concurrent producer and consumer; the file is rewound once drained; a full backlog pauses the producer', async () => {
  const spool = new Spool({ memory: 4096, file: 64 * 1024 });
  const data = randomBytes(1024 * 1024);
  let waits = 0;
  let maxBacklog = 0;
  const produced = (async () => {
    for (let at = 0; at < data.length; at += 4000) {
      const ok = spool.push(data.subarray(at, at + 4000));
      maxBacklog = Math.max(maxBacklog, spool.backlog);
      if (!ok) {
        waits++;
        await new Promise<void>((resolve) => (spool.onSpace = resolve));
      }
    }
    spool.end();
  })();
  const back = await readAll(spool);
  await produced;
  assert.equal(sha(back), sha(data));
  assert.ok(waits > 0, 'the producer was asked to wait');
  assert.ok(maxBacklog <= 64 * 1024 + 4096 + 4000, `backlog stayed bounded (max ${maxBacklog})`);
  spool.destroy();
  await eventually(() => tempFiles.open === 0, 'the descriptor to be closed');
});

test('spool: destroyed while a write is in flight: the descriptor is still closed', async () => {
  const spool = new Spool({ memory: 0, file: Infinity });
  spool.push(randomBytes(256 * 1024));
  spool.destroy();
  await eventually(() => tempFiles.open === 0 && openTempFds().length === 0, 'the descriptor to be closed');
});
