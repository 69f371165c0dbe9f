// SIGHUP reloads the config file: new routes for new requests, requests in flight finish on the
// old ones, and a config that is invalid (or changes what needs a restart) is refused with a
// log line naming the problem while the running config keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { childrenOf, killAfter, startCli } from '../helpers/cli.js';
import { readFileSync } from 'node:fs';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';

type T = { after: (fn: () => unknown) => void };

async function tempDir(t: T): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-reload-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Running: a zombie (ended, not reaped yet) counts as gone. */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const config = (port: number, routes: string, extra = '') =>
  `access_log: false\n${extra}servers:\n  - listen: ["127.0.0.1:${port}"]\n    routes:\n${routes}`;

test('SIGHUP: new requests get the new routes while a request in flight finishes on the old ones', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let arrived = false;
  const oldApp = await startUpstream((req, res) => {
    arrived = true;
    void released.then(() => res.end(`old app ${req.url}`));
  });
  const newApp = await startUpstream((req, res) => res.end(`new app ${req.url}`));
  t.after(() => Promise.all([oldApp.close(), newApp.close()]));
  const dir = await tempDir(t);
  const file = join(dir, 'portico.yaml');
  const port = await freePort();
  await writeFile(file, config(port, `      - { path: /, proxy: { to: "${oldApp.address}" } }\n`));
  const portico = await startCli(['run', '-c', file]);
  t.after(() => {
    portico.child.kill('SIGKILL');
  });

  const inFlight = get(port, '/slow');
  await until('the request to reach the old app', () => arrived);
  await writeFile(file, config(port, `      - { path: = /ping, respond: { body: "pong" } }\n      - { path: /, proxy: { to: "${newApp.address}" } }\n`));
  portico.child.kill('SIGHUP');
  await until('the reload', () => portico.stderr().includes('config reloaded'));
  assert.deepEqual(await get(port, '/ping'), { status: 200, body: 'pong' });
  assert.deepEqual(await get(port, '/x'), { status: 200, body: 'new app /x' });
  release();
  assert.deepEqual(await inFlight, { status: 200, body: 'old app /slow' }, 'the request in flight finished on the old route');
});

test('SIGHUP with an invalid config, an address in use or a certificate missing: refused with one line at the config line, the running config stays', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'portico.yaml');
  const port = await freePort();
  await writeFile(file, config(port, '      - { path: /, respond: { body: "running" } }\n'));
  const portico = await startCli(['run', '-c', file]);
  t.after(() => {
    portico.child.kill('SIGKILL');
  });
  const refusals = () => portico.stderr().split('\n').filter((l) => l.includes('config not reloaded'));

  // A config that does not validate: the log names file, line and column.
  await writeFile(file, config(port, '      - { path: /, proxy: { to: "nope" } }\n'));
  portico.child.kill('SIGHUP');
  await until('the first refusal', () => refusals().length === 1);
  assert.match(refusals()[0]!, /portico\.yaml:5:\d+: servers\[0\]\.routes\[0\]\.proxy\.to: expected host:port, got 'nope'/);
  assert.deepEqual(await get(port), { status: 200, body: 'running' });

  // YAML that does not parse.
  await writeFile(file, 'servers: [\n');
  portico.child.kill('SIGHUP');
  await until('the second refusal', () => refusals().length === 2);
  assert.match(refusals()[1]!, /portico\.yaml:\d+:\d+/);
  assert.deepEqual(await get(port), { status: 200, body: 'running' });

  // A second address that another process listens on.
  const taken = await freePort();
  const squatter = createNetServer();
  await new Promise<void>((resolve) => squatter.listen(taken, '127.0.0.1', resolve));
  t.after(() => squatter.close());
  const second = (extra: string) => `  - listen: ["127.0.0.1:${extra}"]\n    routes:\n      - { path: /, respond: { body: "second" } }\n`;
  await writeFile(file, config(port, '      - { path: /, respond: { body: "new" } }\n') + second(String(taken)));
  portico.child.kill('SIGHUP');
  await until('the third refusal', () => refusals().length === 3);
  assert.match(refusals()[2]!, new RegExp(`portico\\.yaml:6:\\d+: servers\\[1\\]\\.listen\\[0\\]: 127\\.0\\.0\\.1:${taken} is already in use`));
  assert.deepEqual(await get(port), { status: 200, body: 'running' });

  // A certificate file that is not there.
  const other = await freePort();
  await writeFile(
    file,
    config(port, '      - { path: /, respond: { body: "new" } }\n') + `  - listen: ["127.0.0.1:${other}"]\n    tls: { cert: ${dir}/none.crt, key: ${dir}/none.key }\n    routes:\n      - { path: /, respond: {} }\n`,
  );
  portico.child.kill('SIGHUP');
  await until('the fourth refusal', () => refusals().length === 4);
  assert.match(refusals()[3]!, /portico\.yaml:7:\d+: servers\[1\]\.tls\.cert: /);
  assert.deepEqual(await get(port), { status: 200, body: 'running' });
  assert.equal(refusals().length, 4, 'one line each');

  // Moved to another address: applied; the old one is let go.
  await writeFile(file, config(other, '      - { path: /, respond: { body: "moved" } }\n'));
  portico.child.kill('SIGHUP');
  await until('the moved config to be served', async () => (await get(other).catch(() => ({ body: '' }))).body === 'moved');
  await assert.rejects(get(port), /ECONNREFUSED/);
  assert.equal(portico.child.exitCode, null, 'still running');
});

test('SIGHUP with workers: the primary passes it on and every worker serves the new config', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'portico.yaml');
  const port = await freePort();
  await writeFile(file, config(port, '      - { path: /, respond: { body: "v1" } }\n', 'workers: 2\n'));
  const portico = await startCli(['run', '-c', file]);
  t.after(async () => {
    // SIGTERM: the primary stops its workers before it exits.
    portico.child.kill('SIGTERM');
    await until('portico to exit', () => portico.child.exitCode !== null || portico.child.signalCode !== null);
  });
  await until('both workers to answer', async () => (await get(port)).body === 'v1');
  await writeFile(file, config(port, '      - { path: /, respond: { body: "v2" } }\n', 'workers: 2\n'));
  portico.child.kill('SIGHUP');
  await until('two workers to report the reload', () => portico.stderr().split('config reloaded').length - 1 === 2).catch((err) => {
    throw new Error(`${(err as Error).message}:\n${portico.stderr()}`);
  });
  // New connections are handed to the workers in turn: twenty in a row all see v2.
  for (let i = 0; i < 20; i++) assert.equal((await get(port)).body, 'v2');
});

test('a reload that changes workers: 2 to 3 starts one more, 3 to 1 hands over to a single server process, 1 to 2 back', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'portico.yaml');
  const port = await freePort();
  const yaml = (workers: number, body: string) => config(port, `      - { path: /, respond: { body: "${body}" } }\n`, `workers: ${workers}\nshutdown_timeout: 5s\n`);
  await writeFile(file, yaml(2, 'two'));
  const portico = await startCli(['run', '-c', file], dir, { ...process.env, PORTICO_DATA_DIR: join(dir, 'data') });
  const launcher = portico.child.pid!;
  killAfter(t, () => [launcher, ...childrenOf(launcher).flatMap((p) => [p, ...childrenOf(p)])]);
  /** The live server processes under the launcher, each with its workers. */
  const layout = () => childrenOf(launcher).filter(alive).map((p) => childrenOf(p).filter(alive).length);
  await until('two workers', () => layout().join() === '2');
  await until('both to answer', async () => (await get(port)).body === 'two');

  await writeFile(file, yaml(3, 'three'));
  portico.child.kill('SIGHUP');
  await until('three workers', () => layout().join() === '3');
  await until('every worker on the new config', async () => {
    const bodies = await Promise.all(Array.from({ length: 6 }, () => get(port).then((r) => r.body)));
    return bodies.every((b) => b === 'three');
  });

  await writeFile(file, yaml(1, 'one'));
  portico.child.kill('SIGHUP');
  // A single server process takes the socket over; the supervisor and its workers drain and end.
  await until('one server process without workers', () => layout().join() === '0', 30_000);
  assert.equal((await get(port)).body, 'one');

  await writeFile(file, yaml(2, 'two again'));
  portico.child.kill('SIGHUP');
  await until('a supervisor with two workers again', () => layout().join() === '2', 30_000);
  await until('the new config', async () => (await get(port)).body === 'two again');
  assert.equal(portico.child.exitCode, null, 'the launcher goes on');
  assert.doesNotMatch(portico.stderr(), /upgrade failed/);
});
