/**
 * Installing Portico as a user would: `npm pack` in a fresh clone (no dist/: packing builds),
 * the tarball holding exactly what `portico` needs (compiled code and its type declarations,
 * package.json, README, the systemd unit), `npm install -g` of it into an empty prefix, then
 * `portico --version`, `portico check` and `portico run` from there, and `npx` from the
 * tarball. Dependencies come from a registry on loopback (helpers/local-registry.ts), and npm's
 * cache is the test's own: nothing leaves the machine or touches the user's npm setup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalRegistry } from '../helpers/local-registry.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking this process (the registry answers from it). */
async function sh(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }, timeout = 90_000): Promise<Run> {
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

async function filesUnder(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p, base)));
    else out.push(relative(base, p));
  }
  return out;
}

test('npm pack in a fresh clone builds, packs exactly what portico needs; installed into an empty prefix, portico --version, check and run work, and npx runs it from the tarball', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'portico-install-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  // A fresh clone: the sources, no dist/. node_modules as `npm ci` leaves it (for tsc).
  const clone = join(work, 'clone');
  await mkdir(clone);
  for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'src', 'scripts', 'contrib']) await cp(join(ROOT, p), join(clone, p), { recursive: true });
  await symlink(await realpath(join(ROOT, 'node_modules')), join(clone, 'node_modules'));

  const registry = await startLocalRegistry(await realpath(ROOT), await mkdtemp(join(work, 'tgz-')));
  t.after(() => registry.close());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_registry: registry.url,
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_userconfig: join(work, 'npmrc'),
  };

  const pack = await sh('npm', ['pack', '--pack-destination', work], { cwd: clone, env });
  assert.equal(pack.code, 0, `npm pack:\n${pack.stderr}`);
  const tarball = join(work, `portico-${version}.tgz`);

  // Exactly: the compiled code and declarations of src/, package.json, README, the unit file.
  const built = (await filesUnder(join(clone, 'dist', 'src'))).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
  assert.ok(built.includes('cli/main.js'), 'prepack built dist/src');
  const expected = [...built.map((f) => `package/dist/src/${f}`), 'package/package.json', 'package/README.md', 'package/contrib/portico.service'].sort();
  const list = await sh('tar', ['-tzf', tarball], { cwd: work, env });
  const packed = list.stdout.split('\n').filter(Boolean).sort();
  assert.deepEqual(packed, expected);

  // npm install -g into an empty prefix.
  const prefix = join(work, 'prefix');
  const install = await sh('npm', ['install', '-g', '--prefix', prefix, tarball], { cwd: work, env });
  assert.equal(install.code, 0, `npm install -g:\n${install.stderr}`);
  const portico = join(prefix, 'bin', 'portico');
  const v = await sh(portico, ['--version'], { cwd: work, env });
  assert.equal(v.stdout, `portico ${version}\n`, v.stderr);

  const config = join(work, 'portico.yaml');
  await writeFile(config, 'servers:\n  - listen: 127.0.0.1:0\n    routes:\n      - path: /\n        respond: { body: "installed\\n" }\n');
  const check = await sh(portico, ['check', '-c', config], { cwd: work, env });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /configuration is valid/);

  const server = spawn(portico, ['run', '-c', config], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`portico run did not start:\n${stderr}`)), 20_000);
    server.stderr.on('data', (c: Buffer) => {
      stderr += c;
      const m = /serving http:\/\/[^ ]+:(\d+)\//.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const res = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(await res.text(), 'installed\n');
  server.kill('SIGTERM');
  const [code] = await once(server, 'exit');
  assert.equal(code, 0, stderr);

  // npx from the tarball, in a directory with no project.
  const app = join(work, 'app');
  await mkdir(app);
  const npx = await sh('npx', ['--yes', `--package=${tarball}`, '--', 'portico', '--version'], { cwd: app, env });
  assert.equal(npx.stdout, `portico ${version}\n`, npx.stderr);
});
