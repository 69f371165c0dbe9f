// A log destination that cannot be written never stops request handling: a full disk
// (/dev/full) and a file that cannot be opened again after a rotation. Failures and lost
// lines are counted in /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { getMany, scrape, startAdminPortico, total } from '../admin/support.js';
import { eventually } from '../proxy/support.js';

test('a log on a full disk: every request is served, write errors and dropped lines are counted', async (t) => {
  const pad = 'x'.repeat(8000);
  const p = await startAdminPortico({
    // 100 copies of an 8 kB header: each line is 800 kB, so a dozen lines pass the backlog a failing destination may hold.
    access_log: { path: '/dev/full', format: Array.from({ length: 100 }, () => '$http_x_pad').join('') },
    servers: [{ routes: [{ path: '/', respond: { status: 200, body: 'ok' } }] }],
  });
  t.after(() => p.close());
  const before = await scrape(p.admin);
  const statuses = await getMany(`${p.url}/`, 40, 4, { headers: { 'X-Pad': pad } });
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.equal(statuses.length, 40);
  await eventually(() => true, 'tick');
  const after = await scrape(p.admin);
  assert.ok(total(after, 'portico_access_log_errors_total') - total(before, 'portico_access_log_errors_total') > 0, 'write errors counted');
  assert.ok(total(after, 'portico_access_log_dropped_total') - total(before, 'portico_access_log_dropped_total') > 0, 'dropped lines counted');
});

test('a log file that cannot be opened again after a rotation: requests are still served, the failure counted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portico-unwritable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logs = join(dir, 'logs');
  const p = await startAdminPortico({ access_log: { path: join(logs, 'access.log') }, servers: [{ routes: [{ path: '/', respond: { body: 'ok' } }] }] });
  t.after(() => p.close());
  assert.equal((await fetch(`${p.url}/`)).status, 200);
  // The directory is gone and a file took its name: nothing can be opened under it (even as root).
  rmSync(logs, { recursive: true, force: true });
  writeFileSync(logs, 'not a directory');
  const before = await scrape(p.admin);
  // Reopened again and again while lines are being written (a reopen asked for during a write
  // is carried out when it ends, outside any caller that could catch its failure).
  let reopening = true;
  const reopens = (async () => {
    while (reopening) {
      p.server.reopenLogs();
      await new Promise((r) => setImmediate(r));
    }
  })();
  const statuses = await getMany(`${p.url}/`, 300, 8);
  reopening = false;
  await reopens;
  assert.deepEqual(new Set(statuses), new Set([200]));
  await eventually(() => true, 'tick');
  const after = await scrape(p.admin);
  assert.ok(total(after, 'portico_access_log_errors_total') - total(before, 'portico_access_log_errors_total') > 0, 'the failed reopen is counted');
  // Put right, and reopened: lines go to the file again.
  rmSync(logs, { force: true });
  mkdirSync(logs);
  p.server.reopenLogs();
  assert.equal((await fetch(`${p.url}/again`)).status, 200);
});
