// The admin listener of `portico run`: on by default at 127.0.0.1:2019, one warning and no
// listener when that default is taken, an error when a named address cannot be bound, off
// with `admin: off` or PORTICO_ADMIN=off, and with `workers` one listener in the primary that
// adds up every worker's counts (N requests: exactly N) and drains in all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { killAfter, runCli, startCli, waitFor } from '../helpers/cli.js';
import { startUpstream } from '../helpers/upstream.js';
import { adminRequest, getMany, scrape, setServerState, total } from './support.js';

function configDir(t: { after: (fn: () => void) => void }, yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'portico-admin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'portico.yaml'), yaml);
  return dir;
}

const SITE = `access_log: false\nservers:\n  - listen: 127.0.0.1:0\n    routes:\n      - path: /\n        respond: { body: hi }\n`;

/** Binds 127.0.0.1:2019 unless something already does; either way it is taken while the test runs. */
async function occupyDefault(): Promise<Server | undefined> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(undefined));
    s.listen(2019, '127.0.0.1', () => resolve(s));
  });
}

test('the default admin address taken: one warning, and Portico serves without it', async (t) => {
  const holder = await occupyDefault();
  t.after(() => holder?.close());
  const dir = configDir(t, SITE);
  const run = await startCli(['run', '-c', 'portico.yaml'], dir, { ...process.env, PORTICO_ADMIN: '' });
  killAfter(t, () => [run.pid, run.child.pid!]);
  assert.equal(await (await fetch(`http://127.0.0.1:${run.port}/`)).text(), 'hi');
  const warnings = run.stderr().split('\n').filter((l) => l.includes('admin listener not started'));
  assert.equal(warnings.length, 1, run.stderr());
  assert.match(warnings[0]!, /127\.0\.0\.1:2019/);
  run.child.kill('SIGTERM');
});

test('an admin address the config names that cannot be bound stops the start', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.after(() => holder.close());
  const port = (holder.address() as { port: number }).port;
  const dir = configDir(t, `admin: { listen: 127.0.0.1:${port} }\n${SITE}`);
  const r = await runCli(['run', '-c', 'portico.yaml'], dir, { ...process.env, PORTICO_ADMIN: '' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`admin\\.listen: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
});

test('admin: off and PORTICO_ADMIN=off start no admin listener', async (t) => {
  for (const [yaml, env] of [
    [`admin: off\n${SITE}`, ''],
    [`admin: { listen: 127.0.0.1:0 }\n${SITE}`, 'off'],
  ] as const) {
    const dir = configDir(t, yaml);
    const run = await startCli(['run', '-c', 'portico.yaml'], dir, { ...process.env, PORTICO_ADMIN: env });
    killAfter(t, () => [run.pid, run.child.pid!]);
    assert.equal(await (await fetch(`http://127.0.0.1:${run.port}/`)).text(), 'hi');
    assert.doesNotMatch(run.stderr(), /admin listen/);
    run.child.kill('SIGTERM');
  }
});

test('with workers, one admin listener adds up every worker: N requests count N, and a drain reaches all', async (t) => {
  const a = await startUpstream();
  const b = await startUpstream();
  t.after(() => Promise.all([a.close(), b.close()]));
  const dir = configDir(
    t,
    `workers: 2\nadmin: { listen: 127.0.0.1:0 }\naccess_log: false\nupstreams:\n  app: { servers: [${a.address}, ${b.address}] }\n` +
      `servers:\n  - listen: 127.0.0.1:0\n    routes:\n      - path: /\n        proxy: { to: app }\n`,
  );
  const run = await startCli(['run', '-c', 'portico.yaml'], dir, { ...process.env, PORTICO_ADMIN: '' });
  killAfter(t, () => [run.pid, run.child.pid!]);
  const admin = (await waitFor(run.stderr, /"address":"(127\.0\.0\.1:\d+)","msg":"admin listening"/))[1]!;
  // Both workers answer (each says hello to the primary once it serves)
  let pids: number[] = [];
  for (let i = 0; i < 100 && pids.length < 2; i++) {
    const body = (await adminRequest(admin, 'GET', '/status')).body;
    pids = (JSON.parse(body) as { pids?: number[] }).pids ?? assert.fail(body);
    if (pids.length < 2) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(pids.length, 2, 'both workers report');
  const before = await scrape(admin);
  const N = 400;
  // New connections each time, so both workers take some.
  const statuses = await getMany(`http://127.0.0.1:${run.port}/`, N, 16, { headers: { Connection: 'close' } });
  assert.equal(statuses.filter((s) => s === 200).length, N);
  const after = await scrape(admin);
  const route = { route: 'servers[0].routes[0] /', status_class: '2xx' };
  assert.equal(total(after, 'portico_requests_total', route) - total(before, 'portico_requests_total', route), N);
  assert.equal(total(after, 'portico_request_duration_seconds_count') - total(before, 'portico_request_duration_seconds_count'), N);

  assert.equal((await setServerState(admin, 'app', a.address, 'draining')).status, 200);
  const seenA = a.seen.length;
  await getMany(`http://127.0.0.1:${run.port}/`, 60, 8, { headers: { Connection: 'close' } });
  assert.equal(a.seen.length, seenA, 'no worker sends the drained server anything');
  run.child.kill('SIGTERM');
});
