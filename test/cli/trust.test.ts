// `portico trust` / `untrust` as a child process, against a stand-in for Debian's trust store
// (PORTICO_TRUST_DIR and PORTICO_UPDATE_CA_COMMAND) and a HOME of the test's own, so the test
// machine's stores are untouched. Browser stores are real NSS databases (certutil).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile, chmod, chown, readdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { runCli, CLI, killAfter } from '../helpers/cli.js';
import { tempDir } from '../helpers/tls.js';
import { trustFileName, nssNickname } from '../../src/tls/trust-store.js';

type T = Parameters<typeof tempDir>[0];

async function setup(t: T) {
  const dir = await tempDir(t);
  const store = join(dir, 'ca-certificates');
  await mkdir(store);
  const log = join(dir, 'update.log');
  const update = join(dir, 'update-ca-certificates');
  await writeFile(update, `#!/bin/sh\necho "run $*" >> ${log}\n`);
  await chmod(update, 0o755);
  const home = join(dir, 'home');
  await mkdir(home);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, PORTICO_DATA_DIR: join(dir, "data"), PORTICO_TRUST_DIR: store, PORTICO_UPDATE_CA_COMMAND: update };
  delete env.XDG_DATA_HOME;
  delete env.SUDO_UID;
  delete env.SUDO_USER;
  delete env.SUDO_GID;
  return { dir, store, log, home, env };
}

/** The nicknames in an NSS database, or [] when there is none. */
function nssNicknames(home: string): string[] {
  const r = spawnSync('certutil', ['-d', `sql:${join(home, '.pki/nssdb')}`, '-L'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .slice(4)
    .map((l) => l.replace(/\s+\S+,\S*,\S*\s*$/, '').trim())
    .filter(Boolean);
}

test('trust creates the CA, installs its root under its own name, fills a browser store that did not exist yet; untrust removes both', async (t) => {
  const { dir, store, log, home, env } = await setup(t);
  assert.equal(existsSync(join(home, '.pki')), false, 'no NSS database to begin with');

  const trust = await runCli(['trust'], dir, env);
  assert.equal(trust.code, 0, trust.stderr);
  const root = await readFile(join(dir, 'data/pki/authorities/local/root.crt'), 'utf8');
  assert.equal(await readFile(join(store, trustFileName(root)), 'utf8'), root);
  assert.equal(await readFile(log, 'utf8'), 'run \n');
  assert.deepEqual(nssNicknames(home), [nssNickname(root)]);
  assert.match(trust.stdout, /added to .*\.pki\/nssdb/);

  const untrust = await runCli(['untrust'], dir, env);
  assert.equal(untrust.code, 0, untrust.stderr);
  assert.deepEqual(await readdir(store), []);
  assert.equal(await readFile(log, 'utf8'), 'run \nrun --fresh\n');
  assert.match(untrust.stdout, /removed/);
  assert.deepEqual(nssNicknames(home), []);
  const again = await runCli(['untrust'], dir, env);
  assert.match(again.stdout, /was not in the system trust store/);
});

test('trusting a second data directory keeps the first root and says so; untrusting one leaves the other', async (t) => {
  const { dir, store, home, env } = await setup(t);
  const first = await runCli(['trust'], dir, env);
  assert.equal(first.code, 0, first.stderr);
  const second = await runCli(['trust'], dir, { ...env, PORTICO_DATA_DIR: join(dir, 'data2') });
  assert.equal(second.code, 0, second.stderr);
  const roots = await Promise.all(['data', 'data2'].map((d) => readFile(join(dir, d, 'pki/authorities/local/root.crt'), 'utf8')));
  assert.notEqual(roots[0], roots[1]);
  assert.deepEqual((await readdir(store)).sort(), roots.map(trustFileName).sort());
  assert.match(second.stdout, new RegExp(`also trusted, from another data directory: .*${trustFileName(roots[0]!)}`));
  assert.deepEqual(nssNicknames(home).sort(), roots.map(nssNickname).sort());

  const untrust = await runCli(['untrust'], dir, { ...env, PORTICO_DATA_DIR: join(dir, 'data2') });
  assert.equal(untrust.code, 0, untrust.stderr);
  assert.deepEqual(await readdir(store), [trustFileName(roots[0]!)]);
  assert.deepEqual(nssNicknames(home), [nssNickname(roots[0]!)]);
});

test('without certutil, the printed browser line works on an account that has no NSS database yet', async (t) => {
  const { dir, home, env } = await setup(t);
  // A PATH with node but no certutil.
  const bin = join(dir, 'bin');
  await mkdir(bin);
  spawnSync('ln', ['-s', process.execPath, join(bin, 'node')]);
  const r = await runCli(['trust'], dir, { ...env, PATH: bin });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /the browser store was not changed: certutil is not installed/);
  const line = /Chromium\/Chrome: +(.+)$/m.exec(r.stdout)![1]!;
  assert.equal(existsSync(join(home, '.pki')), false);
  const run = spawnSync('bash', ['-c', line], { env: { ...process.env, HOME: home }, encoding: 'utf8' });
  assert.equal(run.status, 0, `${line}\n${run.stderr}`);
  const root = await readFile(join(dir, 'data/pki/authorities/local/root.crt'), 'utf8');
  assert.deepEqual(nssNicknames(home), [nssNickname(root)]);
});

test('trust on a system without the Debian store says what to do and exits 1', async (t) => {
  const dir = await tempDir(t);
  const env = { ...process.env, HOME: dir, PORTICO_DATA_DIR: join(dir, 'data'), PORTICO_TRUST_DIR: join(dir, 'nope'), PORTICO_UPDATE_CA_COMMAND: 'true' };
  const r = await runCli(['trust'], dir, env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does not exist: this is not a Debian-style system; add .*root\.crt to the system trust store by hand/);
});

test("sudo portico trust: the CA is the data directory owner's (root-owned leftovers given back), and that user's portico run serves with it", { skip: process.getuid?.() !== 0 ? 'needs root, as sudo does' : false }, async (t) => {
  const { dir, store, env } = await setup(t);
  // A user's home: the data directory inside it is theirs (nobody stands in for the user).
  const userHome = join(dir, 'user');
  const data = join(userHome, 'data');
  await mkdir(userHome);
  await chown(userHome, 65534, 65534);
  await chmod(dir, 0o755);
  // An earlier version run with sudo -E left a root-owned CA there (made by root elsewhere, copied in).
  const old = await runCli(['trust'], dir, { ...env, PORTICO_DATA_DIR: join(dir, 'old') });
  assert.equal(old.code, 0, old.stderr);
  assert.equal(spawnSync('cp', ['-a', join(dir, 'old'), data]).status, 0);
  assert.equal((await stat(join(data, 'pki/authorities/local/root.key'))).uid, 0, 'the test made a root-owned CA');

  const sudo = { ...env, PORTICO_DATA_DIR: data, SUDO_USER: 'nobody', SUDO_UID: '65534', SUDO_GID: '65534' };
  const r = await runCli(['trust'], dir, sudo);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /the local CA in .* is nobody's/);
  assert.match(r.stdout, /belonged to root .*; they are nobody's again/);
  for (const f of ['', 'pki/authorities/local', 'pki/authorities/local/root.key', 'pki/authorities/local/intermediate.key'])
    assert.equal((await stat(join(data, f))).uid, 65534, `${f || 'the data dir'} is the user's`);
  const root = await readFile(join(data, 'pki/authorities/local/root.crt'), 'utf8');
  assert.ok(existsSync(join(store, trustFileName(root))));

  // The user's own `portico run` with that data directory now starts and serves HTTPS.
  const config = join(userHome, 'portico.yaml');
  await writeFile(config, 'servers:\n  - listen: ["127.0.0.1:0"]\n    tls: internal\n    routes:\n      - path: /\n        respond: { body: "ok\\n" }\n');
  const child = spawn(process.execPath, [CLI, 'run', '-c', config], { uid: 65534, gid: 65534, cwd: userHome, env: { ...env, HOME: userHome, PORTICO_DATA_DIR: data }, stdio: ['ignore', 'ignore', 'pipe'] });
  killAfter(t, () => [child.pid!]);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const started = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 15_000);
    child.stderr.on('data', () => /serving https:/.test(stderr) && (clearTimeout(timer), resolve(true)));
    child.once('exit', () => (clearTimeout(timer), resolve(false)));
  });
  assert.ok(started, `the user's portico run started:\n${stderr}`);
  child.kill('SIGTERM');
});
