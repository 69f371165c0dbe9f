// SIGUSR1 never opens node's inspector (which would let any local user run code inside a server
// that often runs as root); it reopens the log files, as nginx's USR1 does for logrotate. Checked
// on every process `portico run` starts: the launcher, the server it relaunches, and with
// `workers` the cluster primary and its workers, with signals sent while they start and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, rename, readFile } from 'node:fs/promises';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, START_DEADLINE, childrenOf, killAfter } from '../helpers/cli.js';
import { http, delay } from '../proxy/support.js';

type T = { after: (fn: () => unknown) => void };

/** TCP ports the process listens on: its socket descriptors matched against /proc/net/tcp{,6}. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed while we looked
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A: LISTEN
      if (inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

async function until<V>(what: string, probe: () => V | undefined | false | Promise<V | undefined | false>, ms = 15_000): Promise<V> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

interface Started {
  launcher: ChildProcess;
  stderr: () => string;
  port: number;
  /** The relaunched server (the cluster primary with workers). */
  server: number;
}

/**
 * Starts `portico run` and sends SIGUSR1 to the launcher as soon as its server process exists,
 * i.e. while that process may still be starting node (before it could handle the signal).
 */
async function startAndSignalEarly(t: T, file: string): Promise<Started> {
  const launcher = spawn(process.execPath, [CLI, 'run', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  launcher.stderr!.on('data', (c: Buffer) => (stderr += c));
  killAfter(t, () => [launcher.pid!, ...childrenOf(launcher.pid!), ...childrenOf(launcher.pid!).flatMap(childrenOf)]);
  const server = await until('the server process', () => childrenOf(launcher.pid!)[0]);
  launcher.kill('SIGUSR1');
  const port = Number(await until('the serving line', () => /serving http:\/\/[^ ]+:(\d+)\//.exec(stderr)?.[1], START_DEADLINE));
  return { launcher, stderr: () => stderr, port, server };
}

/** What node prints when SIGUSR1 starts its inspector (or fails to, when 9229 is taken). */
const INSPECTOR = /Debugger listening|inspector/i;

function assertNoInspector(pids: number[], port: number, stderr: string): void {
  for (const pid of pids) {
    const extra = listeningPorts(pid).filter((p) => p !== port);
    assert.deepEqual(extra, [], `process ${pid} listens on nothing but the server's port (9229 would be node's inspector)`);
  }
  assert.doesNotMatch(stderr, INSPECTOR, 'no inspector was started (or tried to start)');
}

async function configFile(t: T, extra = ''): Promise<{ dir: string; file: string; log: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-signals-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, 'logs', 'access.log');
  const file = join(dir, 'portico.yaml');
  await writeFile(
    file,
    `${extra}access_log: { output: "${log}" }\nservers:\n  - listen: ["127.0.0.1:0"]\n    routes:\n      - { path: /, respond: { body: "ok" } }\n`,
  );
  return { dir, file, log };
}

const reopened = (stderr: string) => [...stderr.matchAll(/"msg":"log files reopened"[^\n]*"pid":(\d+)|"pid":(\d+)[^\n]*"msg":"log files reopened"/g)].map((m) => Number(m[1] ?? m[2]));

test('SIGUSR1 (early, repeated, to the launcher and to the server) opens no inspector; logrotate: new lines go to a fresh file', async (t) => {
  const { file, log } = await configFile(t);
  const p = await startAndSignalEarly(t, file);
  const pids = [p.launcher.pid!, p.server];
  for (let i = 0; i < 3; i++) p.launcher.kill('SIGUSR1');
  process.kill(p.server, 'SIGUSR1');
  // (Signals sent in quick succession may arrive as one: standard signals are not queued.)
  await until('the signals to be handled', () => reopened(p.stderr()).length >= 1 || INSPECTOR.test(p.stderr()));
  assertNoInspector(pids, p.port, p.stderr());
  assert.equal((await http(`http://127.0.0.1:${p.port}/before`)).status, 200, 'still serving');
  await until('the line of /before', () => existsSync(log) && readFileSync(log, 'utf8').includes('/before'));

  // logrotate: rename, then USR1; lines after that go to a new file at the configured path.
  await rename(log, `${log}.1`);
  const seen = reopened(p.stderr()).length;
  p.launcher.kill('SIGUSR1');
  await until('the reopen', () => reopened(p.stderr()).length > seen);
  let n = 0;
  await until('a line in a fresh access.log', async () => {
    assert.equal((await http(`http://127.0.0.1:${p.port}/after-${n++}`)).status, 200);
    return existsSync(log) && readFileSync(log, 'utf8').includes('/after-');
  });
  assert.doesNotMatch(await readFile(log, 'utf8'), /\/before/, 'the fresh file has only lines written after the reopen');
  assert.match(await readFile(`${log}.1`, 'utf8'), /\/before/, 'the rotated file keeps the earlier lines');
  assert.deepEqual(new Set(reopened(p.stderr())), new Set([p.server]), 'the server reopened its logs, nothing else did');
  assertNoInspector(pids, p.port, p.stderr());
});

test('workers: SIGUSR1 reaches every worker (held while they start), none opens an inspector', async (t) => {
  const { file, log } = await configFile(t, 'workers: 2\n');
  const p = await startAndSignalEarly(t, file);
  const workers = await until('two workers', () => (childrenOf(p.server).length === 2 ? childrenOf(p.server) : undefined));
  await until('both workers listening', () => (p.stderr().match(/"msg":"listening"/g) ?? []).length >= 2);
  for (let i = 0; i < 3; i++) p.launcher.kill('SIGUSR1');
  process.kill(p.server, 'SIGUSR1');
  for (const w of workers) process.kill(w, 'SIGUSR1');
  await until('every worker to reopen', () => workers.every((w) => reopened(p.stderr()).includes(w)) || INSPECTOR.test(p.stderr()));
  assertNoInspector([p.launcher.pid!, p.server, ...workers], p.port, p.stderr());
  assert.equal((await http(`http://127.0.0.1:${p.port}/x`)).status, 200, 'still serving');
  await until('an access-log line', () => existsSync(log) && readFileSync(log, 'utf8').includes('/x'));
  assert.ok(new Set(reopened(p.stderr())).size === 2 && !reopened(p.stderr()).includes(p.server), 'the workers reopen; the primary only passes it on');
});
