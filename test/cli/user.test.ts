/**
 * `user` (YAML) and nginx's `user www-data;`: started as root, `portico run` binds and reads its
 * certificates as root, then every request is served by a process that is that user (and
 * group), checked in /proc and by what it may read. Root without `user` is one warning line;
 * what the user cannot use is said at start. These need root, as the feature does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { CLI, childrenOf, killAfter, servingPid } from '../helpers/cli.js';
import { createTestCa, tempDir, writePair } from '../helpers/tls.js';
import { eventually } from '../proxy/support.js';
import { freePort } from '../helpers/django.js';
import { chown } from 'node:fs/promises';

type T = Parameters<typeof tempDir>[0];
const skip = process.getuid?.() !== 0 ? 'needs root: dropping to a user is what root does' : false;
const NOBODY = 65534;

interface Started {
  child: ChildProcess;
  stderr: () => string;
  ports: number[];
}

async function start(t: T, file: string, cwd: string, count = 1): Promise<Started> {
  const child = spawn(process.execPath, [CLI, 'run', '-c', file], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  killAfter(t, () => [child.pid!, ...childrenOf(child.pid!).flatMap((p) => [p, ...childrenOf(p)])]);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  const ports = () => [...stderr.matchAll(/serving https?:\/\/[^ ]+:(\d+)\//g)].map((m) => Number(m[1]));
  await eventually(() => ports().length >= count || child.exitCode !== null, 'portico to start', 20_000);
  assert.equal(child.exitCode, null, stderr);
  return { child, stderr: () => stderr, ports: ports() };
}

async function stop(s: Started): Promise<void> {
  s.child.kill('SIGTERM');
  if (s.child.exitCode === null) await once(s.child, 'exit');
}

function ids(pid: number): Promise<{ uid: string; gid: string; groups: string }> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => ({
    uid: /^Uid:\t(.*)$/m.exec(s)![1]!,
    gid: /^Gid:\t(.*)$/m.exec(s)![1]!,
    groups: /^Groups:\t(.*)$/m.exec(s)![1]!.trim(),
  }));
}

function get(port: number, path: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, servername: 'localhost', ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function site(t: T) {
  const dir = await tempDir(t);
  await chmod(dir, 0o755);
  const ca = await createTestCa();
  const pair = await writePair(dir, 'site', await ca.issue(['localhost']));
  await chmod(pair.key, 0o600); // root's alone, as /etc/letsencrypt's keys are
  const www = join(dir, 'www');
  await mkdir(www, { mode: 0o755 });
  await writeFile(join(www, 'public.txt'), 'public\n', { mode: 0o644 });
  await writeFile(join(www, 'secret.txt'), 'secret\n', { mode: 0o600 });
  return { dir, ca, pair, www };
}

test('user: nobody: the key only root can read is read, then every request is served as nobody', { skip }, async (t) => {
  const { dir, ca, pair, www } = await site(t);
  const file = join(dir, 'portico.yaml');
  await writeFile(file, `user: nobody\nservers:\n  - listen: 127.0.0.1:0\n    tls: { cert: ${pair.cert}, key: ${pair.key} }\n    routes:\n      - path: /\n        files: { root: ${www} }\n`);
  const s = await start(t, file, dir);
  t.after(() => stop(s));
  assert.deepEqual(await get(s.ports[0]!, '/public.txt', ca.pem), { status: 200, body: 'public\n' });
  // A file only root may read: nobody may not, so the request was served as nobody.
  assert.equal((await get(s.ports[0]!, '/secret.txt', ca.pem)).status, 403);
  const server = await ids(servingPid(s.child.pid!));
  assert.equal(server.uid, `${NOBODY}\t${NOBODY}\t${NOBODY}\t${NOBODY}`);
  assert.equal(server.gid, `${NOBODY}\t${NOBODY}\t${NOBODY}\t${NOBODY}`, "nobody's primary group");
  assert.equal(server.groups, String(NOBODY), 'no supplementary group of root');
  assert.match(s.stderr(), /"msg":"serving as an unprivileged user"/);
  assert.match(s.stderr(), /servers\[0\]\.tls\.key: .*site\.key cannot be read by nobody \(uid 65534, gid 65534\): a renewed certificate is picked up only by a restart/);
  assert.doesNotMatch(s.stderr(), /running as root and serving requests as root/);
});

test("nginx's user directive, with workers: each worker is that user and group", { skip }, async (t) => {
  const { dir, ca, pair, www } = await site(t);
  const file = join(dir, 'nginx.conf');
  const port = await freePort();
  await writeFile(
    file,
    `user nobody nogroup;\nworker_processes 2;\nevents {}\nhttp {\n    server {\n        listen 127.0.0.1:${port} ssl;\n        ssl_certificate ${pair.cert};\n        ssl_certificate_key ${pair.key};\n        root ${www};\n    }\n}\n`,
  );
  const s = await start(t, file, dir);
  t.after(() => stop(s));
  assert.equal((await get(s.ports[0]!, '/public.txt', ca.pem)).status, 200);
  assert.equal((await get(s.ports[0]!, '/secret.txt', ca.pem)).status, 403);
  const primary = servingPid(s.child.pid!);
  const workers = childrenOf(primary);
  assert.equal(workers.length, 2);
  // A worker is announced once it listens, and drops before it serves: the other may be between.
  const all = async () => (await Promise.all(workers.map(ids))).map(({ uid, gid }) => `${uid.split('\t')[0]}:${gid.split('\t')[0]}`);
  let seen: string[] = [];
  await eventually(() => (void all().then((v) => (seen = v)), seen.every((v) => v === `${NOBODY}:${NOBODY}`) && seen.length === 2), 'both workers to be nobody:nogroup', 10_000);
  assert.equal((await ids(primary)).uid.split('\t')[0], '0', 'the primary stays root, as nginx master does, and serves nothing');
});

test('root without user: one warning line; user without root: a warning, as nginx gives', { skip }, async (t) => {
  const dir = await tempDir(t);
  await chmod(dir, 0o755);
  const a = join(dir, 'a.yaml');
  await writeFile(a, 'servers:\n  - listen: 127.0.0.1:0\n    routes: [{ path: /, respond: { body: x } }]\n');
  const s = await start(t, a, dir);
  await stop(s);
  assert.equal(s.stderr().split('\n').filter((l) => /root/.test(l)).length, 1, s.stderr());
  assert.match(s.stderr(), /"level":"warn".*running as root and serving requests as root: set 'user'/);

  const b = join(dir, 'b.yaml');
  await writeFile(b, 'user: www-data\nservers:\n  - listen: 127.0.0.1:0\n    routes: [{ path: /, respond: { body: x } }]\n', { mode: 0o644 });
  const child = spawn(process.execPath, [CLI, 'run', '-c', b], { cwd: dir, uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
  killAfter(t, () => [child.pid!]);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  await eventually(() => /serving http/.test(stderr) || child.exitCode !== null, 'portico to start', 20_000);
  assert.match(stderr, /'user: www-data' makes sense only when started as root; serving as this user \(uid 65534\)/);
  child.kill('SIGTERM');
  await once(child, 'exit');
});

test('what the user cannot use stops the start, in one line: no such user, a data dir or temp dir it cannot write', { skip }, async (t) => {
  const dir = await tempDir(t);
  await chmod(dir, 0o755);
  const closed = join(dir, 'closed');
  await mkdir(closed, { mode: 0o700 }); // root's
  const data = join(dir, 'data');
  await mkdir(data, { mode: 0o700 });
  await chown(data, NOBODY, NOBODY); // nobody's: only the temp dir is wrong in the last case
  const cases: [string, RegExp][] = [
    ['user: nosuchuser\n', /^.*a\.yaml:1:7: user: no user named 'nosuchuser' on this system$/],
    [`user: nobody\ndata_dir: ${closed}/data\n`, /^.*b\.yaml:2:11: data_dir: the data directory .*closed\/data cannot be written by nobody \(uid 65534, gid 65534\): permission denied for uid 65534 \(nobody\) \(EACCES\)$/],
    [`user: nobody\ntemp_files: { dir: ${closed} }\n`, /^.*c\.yaml:2:20: temp_files\.dir: the temp directory .*closed \(request and response bodies spill there\) cannot be written by nobody \(uid 65534, gid 65534\): permission denied for uid 65534 \(nobody\) \(EACCES\)$/],
  ];
  for (const [i, [head, expected]] of cases.entries()) {
    const file = join(dir, `${'abc'[i]}.yaml`);
    await writeFile(file, `${head}servers:\n  - listen: 127.0.0.1:0\n    tls: internal\n    routes: [{ path: /, respond: { body: x } }]\n`);
    const child = spawn(process.execPath, [CLI, 'run', '-c', file], { cwd: dir, env: { ...process.env, PORTICO_DATA_DIR: data }, stdio: ['ignore', 'ignore', 'pipe'] });
    killAfter(t, () => [child.pid!]);
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const [code] = (await once(child, 'exit')) as [number | null];
    const lines = stderr.split('\n').filter((l) => l && !l.startsWith('{'));
    assert.equal(code, 1, stderr);
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, expected);
  }
});
