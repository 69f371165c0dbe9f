// A file log is opened asynchronously: lines written before it is open must survive a stop
// that comes at once (test/server/access-log.test.ts lost them under load: ENOENT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLog } from '../../src/log/access-log.js';

test('a file access log keeps the lines written before the file was open, through a flush at once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-access-flush-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = new AccessLog({ format: 'combined', output: join(dir, 'access.log') });
  // The smallest exchange the combined format reads.
  const ex = { req: { rawHeaders: [], method: 'GET', url: '/x', httpVersion: '1.1' }, clientIp: '127.0.0.1', peerIp: '127.0.0.1', remoteUser: '', base: { bytesSent: 2 }, startedAt: 0 };
  log.write(ex as never, 200); // same tick: the file is not open yet
  await log.flush();
  assert.match(await readFile(join(dir, 'access.log'), 'utf8'), /"GET \/x HTTP\/1\.1" 200 2/);
});
