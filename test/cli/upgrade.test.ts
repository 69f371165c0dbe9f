// `portico reload` and `portico upgrade` (issue 17): the running server is found through its
// pid file (by default under the data dir, named after the config file); an upgrade starts a
// new server process that takes over the listening socket while the old one finishes what it
// has open: a WebSocket and a long download, then exits. No connection is refused meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { childrenOf, killAfter, runCli, servingPid, startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/django.js';
import { openWs, startWsEcho } from '../helpers/websocket.js';

type T = { after: (fn: () => unknown) => void };

async function setup(t: T) {
  const dir = await mkdtemp(join(tmpdir(), 'portico-upgrade-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = { ...process.env, PORTICO_DATA_DIR: join(dir, 'data') };
  return { dir, env, file: join(dir, 'portico.yaml') };
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

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
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

test('portico reload -c FILE finds the server by its default pid file; a config that does not validate is refused before any signal', async (t) => {
  const { dir, env, file } = await setup(t);
  const port = await freePort();
  const yaml = (body: string) => `access_log: false\nservers:\n  - listen: ["127.0.0.1:${port}"]\n    routes:\n      - { path: /, respond: { body: "${body}" } }\n`;
  await writeFile(file, yaml('v1'));
  const portico = await startCli(['run', '-c', file], dir, env);
  killAfter(t, () => [portico.child.pid!, portico.pid]);
  assert.deepEqual(await get(port), { status: 200, body: 'v1' });
  const pidFiles = await readdir(join(dir, 'data', 'run'));
  assert.deepEqual(pidFiles.length, 1);
  assert.match(pidFiles[0]!, /^portico\.yaml-[0-9a-f]{8}\.pid$/);

  await writeFile(file, yaml('v2'));
  const sent = await runCli(['reload', '-c', file], dir, env);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, new RegExp(`sent SIGHUP to ${portico.child.pid} `));
  await until('v2', async () => (await get(port)).body === 'v2');

  await writeFile(file, yaml('v3').replace('respond', 'responds'));
  const refused = await runCli(['reload', '-c', file], dir, env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /portico\.yaml:5:\d+: .*responds/);
  assert.equal((await get(port)).body, 'v2');

  portico.child.kill('SIGTERM');
  await until('the stop', () => portico.child.exitCode !== null);
  await writeFile(file, yaml('v3'));
  const after = await runCli(['reload', '-c', file], dir, env);
  assert.equal(after.code, 1);
  assert.match(after.stderr, /portico: reload: no pid file at .*: is Portico running with this config\?/);
});

/** An upstream that sends `parts` pieces 150 ms apart: a long download. */
async function slowUpstream(parts: number): Promise<{ address: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': String(parts * 1000) });
    let sent = 0;
    const timer = setInterval(() => {
      res.write('x'.repeat(1000));
      if (++sent === parts) {
        clearInterval(timer);
        res.end();
      }
    }, 150);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('portico upgrade: a new process takes over the socket; the old one finishes its WebSocket and download, then exits; nothing is refused', async (t) => {
  const { dir, env, file } = await setup(t);
  const ws = await startWsEcho();
  const slow = await slowUpstream(20);
  t.after(() => Promise.all([ws.close(), slow.close()]));
  const [port, adminPort] = [await freePort(), await freePort()];
  const yaml = (gen: string) =>
    `access_log: false\nshutdown_timeout: 30s\nadmin: { listen: "127.0.0.1:${adminPort}" }\nservers:\n  - listen: ["127.0.0.1:${port}"]\n    routes:\n` +
    `      - { path: /ws, proxy: { to: "${ws.address}" } }\n      - { path: /slow, proxy: { to: "${slow.address}" } }\n      - { path: /, respond: { body: "${gen}" } }\n`;
  await writeFile(file, yaml('gen1'));
  // The admin listener on: its socket is handed over too.
  const portico = await startCli(['run', '-c', file], dir, { ...env, PORTICO_ADMIN: 'on' });
  const oldPid = portico.pid;
  const adminStatus = () => fetch(`http://127.0.0.1:${adminPort}/status`).then((r) => r.status);
  assert.equal(await adminStatus(), 200);
  killAfter(t, () => [portico.child.pid!, oldPid, servingPid(portico.child.pid!)]);
  assert.notEqual(oldPid, portico.child.pid, 'a launcher and its server');

  const socket = await openWs(port, '/ws');
  assert.equal(await socket.echo('before'), 'before');
  let downloaded = 0;
  const download = new Promise<number>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/slow', agent: false }, (res) => {
      res.on('data', (c: Buffer) => (downloaded += c.length));
      res.on('end', () => resolve(downloaded));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
  await until('the download to start', () => downloaded > 0);

  // New connections all along (at most 2000, one at a time): none may be refused or go unanswered.
  let probing = true;
  t.after(() => (probing = false));
  const answers: string[] = [];
  const failures: string[] = [];
  const probe = (async () => {
    for (let i = 0; probing && i < 2000; i++)
      await get(port).then(
        (r) => answers.push(r.body),
        (err: Error) => failures.push(err.message),
      );
  })();

  await writeFile(file, yaml('gen2'));
  const sent = await runCli(['upgrade', '-c', file], dir, env);
  assert.equal(sent.code, 0, sent.stderr);
  const newServer = () => childrenOf(portico.child.pid!).find((pid) => pid !== oldPid && alive(pid));
  await until('the new process to serve', () => newServer() !== undefined && answers.at(-1) === 'gen2');
  const newPid = newServer()!;
  assert.match(portico.stderr(), new RegExp(`upgrade: pid ${newPid} serves; pid ${oldPid} drains`));

  // The old process still carries the WebSocket and the download.
  assert.equal(alive(oldPid), true, 'the old process drains');
  assert.equal(await socket.echo('after'), 'after', 'the WebSocket goes on');
  assert.equal(await download, 20_000, 'the download finished whole');
  assert.equal(await socket.close(), 'clean', 'closed with the closing handshake');
  await until('the old process to exit once nothing is left', () => !alive(oldPid));
  probing = false;
  await probe;
  assert.deepEqual(failures, []);
  assert.ok(answers.includes('gen1') && answers.includes('gen2'), `answers from both processes (${answers.length})`);
  assert.equal(portico.child.exitCode, null, 'the launcher goes on');
  assert.equal((await get(port)).body, 'gen2');
  assert.equal(await adminStatus(), 200, 'the admin listener, now the new process\'s');
  assert.doesNotMatch(portico.stderr(), /admin listener not started/);
});
