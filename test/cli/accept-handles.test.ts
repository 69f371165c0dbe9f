// `portico run` on Linux: the server accepts on several handles of each listening socket
// (src/server/accept-handles.ts), serves what any of them accepts, and still stops on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { connect } from 'node:net';
import { childrenOf, killAfter, startCli } from '../helpers/cli.js';
import { DEFAULT_ACCEPT_COPIES } from '../../src/server/accept-handles.js';

/** The inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp. */
function listeningInode(port: number): string | undefined {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A') return f[9];
  }
  return undefined;
}

/** How many of `pid`'s descriptors refer to socket `inode`. */
function descriptorsOf(pid: number, inode: string): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

/** One request per connection, all connections opened at once; resolves with the statuses. */
function burst(port: number, count: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: burst\r\nConnection: close\r\n\r\n'));
        let data = '';
        socket.setEncoding('latin1');
        socket.on('data', (c: string) => (data += c));
        socket.on('end', () => resolve(`${data.slice(0, 12)} ${data.slice(data.indexOf('\r\n\r\n') + 4)}`));
        socket.on('error', reject);
      }),
    ),
  );
}

/** `portico run` on a config answering "up" at /, with `extra` top-level YAML; killed at the end. */
async function runUp(t: { after: (fn: () => unknown) => void }, extra = '') {
  const dir = await mkdtemp(join(tmpdir(), 'portico-accept-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'portico.yaml');
  await writeFile(file, `access_log: false\n${extra}servers:\n  - listen: ["127.0.0.1:0"]\n    routes:\n      - { path: /, respond: { body: "up" } }\n`);
  const portico = await startCli(['run', '-c', file]);
  killAfter(t, () => [portico.child.pid!, portico.pid, ...childrenOf(portico.pid)]);
  const inode = listeningInode(portico.port);
  assert.ok(inode, 'the listening socket is in /proc/net/tcp');
  return { portico, inode };
}

test('run on Linux: each listening socket is accepted on from several handles, all serving; SIGTERM still stops', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const { portico, inode } = await runUp(t);

  // The copies arrive from the launcher over IPC shortly after the server listens.
  const expected = 1 + DEFAULT_ACCEPT_COPIES;
  const deadline = Date.now() + 10_000;
  while (descriptorsOf(portico.pid, inode) < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(descriptorsOf(portico.pid, inode), expected, 'the server holds the socket once per handle');
  assert.equal(descriptorsOf(portico.child.pid!, inode), 0, 'the launcher keeps no copy (it never accepts)');

  const answers = await burst(portico.port, 300);
  assert.deepEqual(new Set(answers), new Set(['HTTP/1.1 200 up']), 'every connection, whichever handle took it, got the answer');

  portico.child.kill('SIGTERM');
  const [code] = await once(portico.child, 'exit');
  assert.equal(code, 0, portico.stderr());
});

test('run on Linux with workers: each worker accepts from the shared socket on its own handles, served by the primary', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const { portico, inode } = await runUp(t, 'workers: 2\n');
  const expected = 1 + DEFAULT_ACCEPT_COPIES;
  const deadline = Date.now() + 10_000;
  const workers = () => childrenOf(portico.pid);
  const ready = () => workers().length === 2 && workers().every((pid) => descriptorsOf(pid, inode) === expected);
  while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(workers().map((pid) => descriptorsOf(pid, inode)), [expected, expected], 'each worker holds the socket once per handle');

  const answers = await burst(portico.port, 300);
  assert.deepEqual(new Set(answers), new Set(['HTTP/1.1 200 up']));

  portico.child.kill('SIGTERM');
  const [code] = await once(portico.child, 'exit');
  assert.equal(code, 0, portico.stderr());
});
