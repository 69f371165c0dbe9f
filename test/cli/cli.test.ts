// The portico command: check / schema / run, exit codes, and a graceful stop on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { request } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { killAfter, runCli, startCli } from '../helpers/cli.js';
import { startUpstream } from '../helpers/upstream.js';

/** A process that exited but was not reaped yet. */
function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true; // gone while we looked
  }
}

async function tempConfig(t: { after: (fn: () => Promise<void>) => void }, name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

test('--version and --help', async () => {
  const v = await runCli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^portico \d+\.\d+\.\d+\n$/);
  const h = await runCli(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /portico <command>/);
  const bad = await runCli(['frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command 'frobnicate'/);
});

test('check: a valid config exits 0', async (t) => {
  const file = await tempConfig(t, 'portico.yaml', 'servers:\n  - routes:\n      - path: /\n        proxy: { to: "127.0.0.1:3000" }\n');
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configuration is valid/);
});

test('check: an invalid config exits 1 with every error, naming file and line', async (t) => {
  const file = await tempConfig(
    t,
    'bad.yaml',
    'servers:\n  - routes:\n      - path: /api/\n        proxy: { to: "localhost:" }\n      - path: "~ ("\n        respond: {}\n',
  );
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0]!, /bad\.yaml:4:22: servers\[0\]\.routes\[0\]\.proxy\.to: expected host:port, got 'localhost:'/);
  assert.match(lines[1]!, /bad\.yaml:5:15: servers\[0\]\.routes\[1\]\.path: invalid regular expression/);
});

test('check: compile-time conflicts are errors too (duplicate location, host used twice)', async (t) => {
  const file = await tempConfig(
    t,
    'dup.yaml',
    `servers:
  - hosts: [a.test]
    routes:
      - { path: /x/, respond: {} }
      - { path: /x/, respond: {} }
  - hosts: [a.test]
    routes:
      - { path: /, respond: {} }
`,
  );
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /servers\[0\]\.routes\[1\]\.path: duplicate location "\/x\/"/);
  assert.match(r.stderr, /servers\[1\]\.hosts\[0\]: host 'a\.test' is used by two servers/);
});

test('check: a missing file is a clear error', async () => {
  const r = await runCli(['check', '-c', 'does-not-exist.yaml']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does-not-exist\.yaml: cannot read config: ENOENT/);
});

test('schema prints a JSON Schema editors can use', async () => {
  const r = await runCli(['schema']);
  assert.equal(r.code, 0);
  const schema = JSON.parse(r.stdout) as { $schema: string; properties: Record<string, unknown> };
  assert.match(schema.$schema, /json-schema\.org/);
  assert.ok(schema.properties.servers);
});

test('run: a bad config exits 1 and starts nothing', async (t) => {
  const file = await tempConfig(t, 'portico.yaml', 'servers:\n  - routes: [{ path: /, proxy: { to: "nope" } }]\n');
  const r = await runCli(['run', '-c', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /portico\.yaml:2:38: servers\[0\]\.routes\[0\]\.proxy\.to: expected host:port, got 'nope'/);
});

test('run: SIGTERM lets the request in flight finish, then exits 0', async (t) => {
  let arrived!: () => void;
  const arrivedP = new Promise<void>((r) => (arrived = r));
  let release!: () => void;
  const releaseP = new Promise<void>((r) => (release = r));
  // Only /slow waits; the probes below must not (one accepted just before the listener closed
  // would otherwise wait for the release, which waits for the probes).
  const upstream = await startUpstream((req, res) => {
    if (req.url !== '/slow') return res.end('probe');
    arrived();
    void releaseP.then(() => res.end('finished'));
  });
  t.after(() => upstream.close());
  const file = await tempConfig(
    t,
    'portico.yaml',
    `access_log: false\nservers:\n  - listen: ["127.0.0.1:0"]\n    routes:\n      - { path: /, proxy: { to: "${upstream.address}" } }\n`,
  );
  const portico = await startCli(['run', '-c', file]);
  t.after(() => {
    if (portico.child.exitCode === null) portico.child.kill('SIGKILL');
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: portico.port, path: '/slow' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
  await arrivedP;
  portico.child.kill('SIGTERM');
  // The listener closes while the request is still in flight...
  await new Promise<void>((resolve) => {
    const probe = () => {
      const req = request({ host: '127.0.0.1', port: portico.port, path: '/', agent: false });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.resume();
        setTimeout(probe, 20);
      });
      req.end();
    };
    probe();
  });
  // ...and the request still completes.
  release();
  assert.deepEqual(await response, { status: 200, body: 'finished' });
  const [code] = await once(portico.child, 'exit');
  assert.equal(code, 0, portico.stderr());
});

test('run on Linux: the server runs with glibc\'s trim threshold raised, and stops when the command is killed', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const file = await tempConfig(t, 'portico.yaml', 'access_log: false\nservers:\n  - listen: ["127.0.0.1:0"]\n    routes:\n      - { path: /, respond: { body: "up" } }\n');
  const portico = await startCli(['run', '-c', file]);
  killAfter(t, () => [portico.child.pid!, portico.pid]);
  assert.notEqual(portico.pid, portico.child.pid, 'the server is a child of the command (src/cli/malloc-relaunch.ts)');
  const env = readFileSync(`/proc/${portico.pid}/environ`, 'utf8').split('\0');
  assert.ok(env.includes('MALLOC_TRIM_THRESHOLD_=67108864'), 'the server started with the threshold set');

  // SIGKILL cannot be passed on: the server notices its launcher is gone and stops.
  portico.child.kill('SIGKILL');
  const deadline = Date.now() + 15_000;
  // Its parent gone, an exited server is reaped by whoever adopts it (PID 1 here), maybe not at
  // once: a zombie has stopped.
  while (existsSync(`/proc/${portico.pid}`) && !isZombie(portico.pid)) {
    if (Date.now() > deadline) assert.fail('the server outlived its launcher');
    await new Promise((r) => setTimeout(r, 50));
  }
  await assert.rejects(fetch(`http://127.0.0.1:${portico.port}/`), 'nothing listens any more');
});

test('run on Linux: a server whose launcher dies while it is still starting stops too', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  // The launcher is killed as soon as its child exists, before the child listens: the IPC
  // channel closes before the child watches it (a loaded machine used to leave such a server
  // running for good).
  const file = await tempConfig(t, 'portico.yaml', 'access_log: false\nservers:\n  - listen: ["127.0.0.1:0"]\n    routes:\n      - { path: /, respond: { body: "up" } }\n');
  const { spawn } = await import('node:child_process');
  const { CLI, childrenOf } = await import('../helpers/cli.js');
  const launcher = spawn(process.execPath, [CLI, 'run', '-c', file], { stdio: 'ignore' });
  let server: number | undefined;
  killAfter(t, () => [launcher.pid!, ...(server ? [server] : [])]);
  const found = Date.now() + 10_000;
  while (server === undefined) {
    if (Date.now() > found) assert.fail('the launcher started no server');
    server = childrenOf(launcher.pid!)[0];
    if (server === undefined) await new Promise((r) => setTimeout(r, 2));
  }
  // Past its first steps (where a closed channel makes it fail at once), before it listens.
  await new Promise((r) => setTimeout(r, Number(process.env.PORTICO_TEST_KILL_AFTER ?? 150)));
  launcher.kill('SIGKILL');
  const deadline = Date.now() + 15_000;
  while (existsSync(`/proc/${server}`) && !isZombie(server)) {
    if (Date.now() > deadline) assert.fail('the server outlived a launcher that died during its start');
    await new Promise((r) => setTimeout(r, 50));
  }
});

test('--help lists every command main.ts knows, and --version prints the package version', async () => {
  const root = new URL('../../../', import.meta.url);
  const main = readFileSync(new URL('src/cli/main.ts', root), 'utf8');
  const commands = [...main.matchAll(/case '([a-z-]+)':/g)].map((m) => m[1]!);
  assert.ok(commands.includes('trust') && commands.includes('untrust'), commands.join(' '));
  const help = (await runCli(['--help'])).stdout;
  for (const c of commands) assert.match(help, new RegExp(`^  ${c}\\b`, 'm'), `--help lists ${c}`);
  const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
  assert.equal((await runCli(['--version'])).stdout, `portico ${version}\n`);
});
