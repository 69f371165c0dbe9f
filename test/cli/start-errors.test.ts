/**
 * `portico run` that cannot start says so in one line naming the config line and the cause, and
 * what to do where it can; never a stack trace. Each case runs the real command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, killAfter } from '../helpers/cli.js';
import { tempDir, writePair, createTestCa } from '../helpers/tls.js';

type T = Parameters<typeof tempDir>[0];
const ROOT = process.getuid?.() === 0;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr without the JSON log lines (warnings such as "running as root"). */
  lines: string[];
}

async function run(args: string[], cwd: string, opts: { uid?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, lines: stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{')) };
}

function assertOneLine(r: Result, expected: string | RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.lines.length, 1, r.stderr);
  if (typeof expected === 'string') assert.equal(r.lines[0], expected);
  else assert.match(r.lines[0]!, expected);
}

/** A node process listening on 127.0.0.1 (its port, its pid). */
async function holder(t: T): Promise<{ port: number; pid: number }> {
  const child = spawn(process.execPath, ['-e', `const s=require('net').createServer().listen(0,'127.0.0.1',()=>console.log(s.address().port))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  killAfter(t, () => [child.pid!]);
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  return { port: Number(chunk.toString().trim()), pid: child.pid! };
}

async function config(t: T, text: string, name = 'portico.yaml'): Promise<{ dir: string; file: string }> {
  const dir = await tempDir(t);
  const file = join(dir, name);
  await writeFile(file, text);
  return { dir, file };
}

const respond = '    routes:\n      - path: /\n        respond: { body: "ok\\n" }\n';

test('an address in use: the listen line, the address, and the process holding it', async (t) => {
  const { port, pid } = await holder(t);
  const { dir, file } = await config(t, `servers:\n  - listen: ["127.0.0.1:${port}"]\n${respond}`);
  const r = await run(['run', '-c', file], dir);
  assertOneLine(r, `${file}:2:14: servers[0].listen[0]: 127.0.0.1:${port} is already in use by node (pid ${pid})`);
});

test('an address in use, with workers: said once, and the command ends', async (t) => {
  const { port, pid } = await holder(t);
  const { dir, file } = await config(t, `workers: 2\nservers:\n  - listen: 127.0.0.1:${port}\n${respond}`);
  const r = await run(['run', '-c', file], dir);
  assertOneLine(r, `${file}:3:13: servers[0].listen: 127.0.0.1:${port} is already in use by node (pid ${pid})`);
});

test('an address in use, in an nginx.conf: the line of its server block', async (t) => {
  const { port } = await holder(t);
  const { dir, file } = await config(t, `events {}\nhttp {\n    server {\n        listen 127.0.0.1:${port};\n        location / { return 200 ok; }\n    }\n}\n`, 'nginx.conf');
  const r = await run(['run', '-c', file], dir);
  assertOneLine(r, new RegExp(`^${file}:3:\\d+: servers\\[0\\]\\.listen(\\[0\\])?: 127\\.0\\.0\\.1:${port} is already in use by node`));
});

test('certificate files: missing, or a directory: the cert or key line and the cause', async (t) => {
  const { dir } = await config(t, '');
  const ca = await createTestCa();
  const pair = await writePair(dir, 'site', await ca.issue(['localhost']));
  const missing = join(dir, 'missing.pem');
  const a = join(dir, 'a.yaml');
  await writeFile(a, `servers:\n  - listen: 127.0.0.1:0\n    tls: { cert: ${missing}, key: ${pair.key} }\n${respond}`);
  assertOneLine(await run(['run', '-c', a], dir), `${a}:3:18: servers[0].tls.cert: cannot read ${missing}: no such file or directory (ENOENT)`);
  const b = join(dir, 'b.yaml');
  await writeFile(b, `servers:\n  - listen: 127.0.0.1:0\n    tls:\n      - { cert: ${pair.cert}, key: ${dir} }\n${respond}`);
  const col = `      - { cert: ${pair.cert}, key: `.length + 1;
  assertOneLine(await run(['run', '-c', b], dir), `${b}:4:${col}: servers[0].tls[0].key: cannot read ${dir}: is a directory (EISDIR)`);
});

test('a certificate key only root may read, for a user that is not root: permission denied, for whom', { skip: ROOT ? false : 'needs root to make a file another user cannot read' }, async (t) => {
  const { dir } = await config(t, '');
  await chmod(dir, 0o755);
  const ca = await createTestCa();
  const pair = await writePair(dir, 'site', await ca.issue(['localhost']));
  await chmod(pair.key, 0o600);
  await chmod(pair.cert, 0o644);
  const file = join(dir, 'p.yaml');
  await writeFile(file, `servers:\n  - listen: 127.0.0.1:0\n    tls: { cert: ${pair.cert}, key: ${pair.key} }\n${respond}`);
  await chmod(file, 0o644);
  const r = await run(['run', '-c', file], dir, { uid: 65534, env: { ...process.env, HOME: dir } });
  assertOneLine(r, new RegExp(`^${file}:3:\\d+: servers\\[0\\]\\.tls\\.key: cannot read ${pair.key}: permission denied for uid 65534 \\(nobody\\) \\(EACCES\\)$`));
});

test('a data dir that cannot be written: the data_dir line (or the tls line, for the default), the directory and why', async (t) => {
  const { dir } = await config(t, '');
  const file = join(dir, 'plain-file');
  await writeFile(file, '');
  const a = join(dir, 'a.yaml');
  await writeFile(a, `data_dir: ${file}/data\nservers:\n  - listen: 127.0.0.1:0\n    tls: internal\n${respond}`);
  assertOneLine(await run(['run', '-c', a], dir), `${a}:1:11: data_dir: the data directory ${file}/data cannot be written: a part of the path is not a directory (ENOTDIR)`);
  const b = join(dir, 'b.yaml');
  await writeFile(b, `servers:\n  - listen: 127.0.0.1:0\n    tls: internal\n${respond}`);
  const env = { ...process.env, PORTICO_DATA_DIR: `${file}/data` };
  assertOneLine(
    await run(['run', '-c', b], dir, { env }),
    `${b}:3:10: servers[0].tls: the data directory ${file}/data (from PORTICO_DATA_DIR; set data_dir to choose another) cannot be written: a part of the path is not a directory (ENOTDIR)`,
  );
});

test('a port below 1024 for a user that is not root: what it needs', { skip: ROOT ? false : 'needs root to run as another user' }, async (t) => {
  const { dir, file } = await config(t, `servers:\n  - listen: 127.0.0.1:80\n${respond}`);
  await chmod(dir, 0o755);
  await chmod(file, 0o644);
  const r = await run(['run', '-c', file], dir, { uid: 65534, env: { ...process.env, HOME: dir } });
  assertOneLine(r, `${file}:2:13: servers[0].listen: binding 127.0.0.1:80 needs root or the CAP_NET_BIND_SERVICE capability (ports below 1024; contrib/portico.service grants it), or a port above 1023`);
});

test('portico schema | head: the closed pipe ends the command quietly', async (t) => {
  const { dir } = await config(t, '');
  // The schema (over 100 KiB) does not fit in the pipe: head exits with most of it unwritten.
  const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', ['-c', `"${process.execPath}" "${CLI}" schema | head -1; echo "status \${PIPESTATUS[0]}"`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('close', () => resolve({ stdout, stderr }));
  });
  assert.equal(r.stderr, '', 'no stack trace');
  assert.equal(r.stdout, '{\nstatus 141\n', 'as a Unix tool killed by SIGPIPE');
});

test('the banner of an HTTPS address names a host its certificate covers', async (t) => {
  const { dir } = await config(t, '');
  const ca = await createTestCa();
  const pair = await writePair(dir, 'site', await ca.issue(['app.example.test', 'www.example.test']));
  const file = join(dir, 'tls.yaml');
  await mkdir(join(dir, 'data'));
  await writeFile(
    file,
    `data_dir: ${join(dir, 'data')}\nservers:\n  - listen: 0.0.0.0:0\n    tls: { cert: ${pair.cert}, key: ${pair.key} }\n${respond}` +
      `  - listen: 127.0.0.1:0\n    hosts: [portico.localhost]\n    tls: internal\n${respond}`,
  );
  const child = spawn(process.execPath, [CLI, 'run', '-c', file], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  killAfter(t, () => [child.pid!]);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const deadline = Date.now() + 20_000;
  while ((stderr.match(/serving https/g) ?? []).length < 2 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  assert.match(stderr, /serving https:\/\/app\.example\.test:\d+\/ /, stderr);
  assert.match(stderr, /serving https:\/\/portico\.localhost:\d+\/ /, stderr);
  child.kill('SIGTERM');
  await once(child, 'exit');
});
