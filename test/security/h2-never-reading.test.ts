/**
 * Issue 12 item 8: HTTP/2 clients that never read (window 0, many streams, large responses)
 * once filled gigabytes of temp files in seconds and stalled every other client. Now the temp
 * files of one client connection stay within temp_files.max_connection_size, all of them
 * within max_total_size (sampled on disk during the attack), other clients are served
 * meanwhile, one connection cannot take every upstream connection, and when the attackers
 * leave, the accounting is back to 0 and every temp file is closed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, within } from '../proxy/support.js';
import { tempFiles } from '../../src/buffering/temp-file.js';
import { TempSampler, h2Get, neverReading, startBigUpstream, startH2Portico, tempFileBytes } from './spool-support.js';

const MiB = 1024 * 1024;

async function dirs(t: { after(fn: () => unknown): void }): Promise<{ data: string; temp: string }> {
  const data = await mkdtemp(join(tmpdir(), 'portico-h2nr-data-'));
  const temp = await mkdtemp(join(tmpdir(), 'portico-h2nr-temp-'));
  t.after(() => Promise.all([rm(data, { recursive: true, force: true }), rm(temp, { recursive: true, force: true })]));
  return { data, temp };
}

test('never-reading HTTP/2 clients: temp files stay within the per-connection and total budgets, others are served, all is released', async (t) => {
  const { data, temp } = await dirs(t);
  const upstream = await startBigUpstream(4 * MiB);
  const h2 = await startH2Portico(data, upstream.address, {
    temp_files: { dir: temp, max_total_size: 6 * MiB, max_connection_size: 4 * MiB },
  });
  const spool = h2.portico.server.spool;
  const sampler = new TempSampler();
  t.after(() => (sampler.stop(), Promise.all([h2.portico.close(), upstream.close()])));
  const normal = h2connect(h2.url, { ca: h2.ca });
  t.after(() => normal.destroy());
  const served = async (what: string) => {
    for (let i = 0; i < 10; i++) assert.deepEqual(await within(h2Get(normal, `/small/${i}`), 10_000, what), { status: 200, body: 'ok' });
  };

  // One attacker: 16 streams x 4 MiB = 64 MiB asked for; its connection may spool 4 MiB.
  const a = neverReading(h2, 16, (i) => `/big/a/${i}`);
  await eventually(() => spool.reserved > 3 * MiB, 'the first attacker to spool up to its share', 10_000);
  await served('a normal request during the first attack');
  const oneMax = sampler.max;
  assert.ok(oneMax > 3 * MiB, `the attack spooled (${oneMax} bytes seen)`);
  assert.ok(oneMax <= 4 * MiB, `one connection's temp files stayed within max_connection_size: at most ${oneMax} <= ${4 * MiB}`);

  // A second attacker: each may spool 4 MiB, both together 6 MiB.
  const b = neverReading(h2, 16, (i) => `/big/b/${i}`);
  await eventually(() => spool.reserved > 5 * MiB, 'the second attacker to spool up to the total', 10_000);
  await served('a normal request during the second attack');
  assert.ok(sampler.max <= 6 * MiB, `all temp files stayed within max_total_size: at most ${sampler.max} <= ${6 * MiB}`);
  assert.ok(spool.reserved <= 6 * MiB);
  assert.ok(sampler.samples > 10);
  assert.ok([...sampler.targets].every((p) => p.startsWith(join(temp, 'portico-'))), `temp files are made in temp_files.dir: ${[...sampler.targets].slice(0, 2).join(', ')}`);

  a.destroy();
  b.destroy();
  await eventually(() => spool.reserved === 0, `the accounting to return to 0 (at ${spool.reserved})`, 10_000);
  await eventually(() => tempFiles.open === 0 && tempFileBytes().targets.length === 0, 'every temp file to be closed', 10_000);
  assert.deepEqual(await readdir(temp), [], 'no temp file is left with a name');
  assert.equal(sampler.max <= 6 * MiB, true);
});

test('one client connection cannot take every upstream connection: its requests beyond half of them wait their turn', async (t) => {
  const { data, temp } = await dirs(t);
  const upstream = await startBigUpstream(4 * MiB);
  const h2 = await startH2Portico(
    data,
    upstream.address,
    { temp_files: { dir: temp, max_connection_size: 1 * MiB } },
    { keepalive_connections: 4 },
  );
  t.after(() => Promise.all([h2.portico.close(), upstream.close()]));
  // 8 never-read responses: once its 1 MiB is spooled, each holds an upstream connection.
  const attacker = neverReading(h2, 8, (i) => `/big/${i}`);
  t.after(() => attacker.destroy());
  const spool = h2.portico.server.spool;
  await eventually(() => upstream.started === 2 && spool.reserved > 0.5 * MiB, 'the attacker to spool its share and hold two upstream connections', 10_000);
  const normal = h2connect(h2.url, { ca: h2.ca });
  t.after(() => normal.destroy());
  for (let i = 0; i < 5; i++) assert.deepEqual(await within(h2Get(normal, `/small/${i}`), 10_000, 'a normal request'), { status: 200, body: 'ok' });
  assert.equal(upstream.started, 2, "the attacker's other 6 requests wait for its own to finish");
  // The attacker leaves: its two responses end, and none of its waiting requests starts.
  attacker.destroy();
  await eventually(() => upstream.closed === 2 && spool.reserved === 0, 'the attacker\'s responses to end', 10_000);
  await h2Get(normal, '/small/after');
  assert.equal(upstream.started, 2, 'a request whose stream is gone is not sent upstream');
});

for (const [what, extra, proxy] of [
  ['no temp-file budget left (max_total_size: 0)', { temp_files: { max_total_size: 0 } }, {}],
  ['buffering off', {}, { buffering: false }],
] as const) {
  test(`HTTP/2 flow control reaches the upstream: a stream at window 0 is not read ahead (${what})`, async (t) => {
    const { data } = await dirs(t);
    const upstream = await startBigUpstream(64 * MiB);
    const h2 = await startH2Portico(data, upstream.address, extra, proxy);
    t.after(() => Promise.all([h2.portico.close(), upstream.close()]));
    const attacker = neverReading(h2, 1, () => '/big/1');
    t.after(() => attacker.destroy());
    // Wait until the upstream is held back: its flushed count stays put for 20 looks in a row.
    let last = -1;
    let still = 0;
    await eventually(
      () => {
        const now = upstream.flushed;
        still = now > 0 && now === last ? still + 1 : 0;
        last = now;
        return still >= 20 || upstream.finished > 0;
      },
      'the upstream to be held back',
      20_000,
    );
    // Kernel socket buffers on loopback take a few MiB; Portico itself holds memory_limit.
    t.diagnostic(`${what}: the upstream flushed ${upstream.flushed} bytes`);
    assert.ok(upstream.flushed < 16 * MiB, `the upstream got ${upstream.flushed} bytes out of 64 MiB to a client that reads nothing`);
    assert.equal(upstream.finished, 0);
    assert.equal(h2.portico.server.spool.reserved, 0);
    assert.equal(tempFiles.open, 0);
  });
}
