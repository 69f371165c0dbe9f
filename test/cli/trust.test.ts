// `portico trust` / `untrust` as a child process, against a stand-in for Debian's trust store
// (PORTICO_TRUST_DIR and PORTICO_UPDATE_CA_COMMAND), so the test machine's own store is untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tls.js';

test('trust creates the CA if needed, installs its root and runs update-ca-certificates; untrust removes it', async (t) => {
  const dir = await tempDir(t);
  const store = join(dir, 'ca-certificates');
  await mkdir(store);
  const log = join(dir, 'update.log');
  const update = join(dir, 'update-ca-certificates');
  await writeFile(update, `#!/bin/sh\necho "run $*" >> ${log}\n`);
  await chmod(update, 0o755);
  const env = { ...process.env, PORTICO_DATA_DIR: join(dir, 'data'), PORTICO_TRUST_DIR: store, PORTICO_UPDATE_CA_COMMAND: update };

  const trust = await runCli(['trust'], dir, env);
  assert.equal(trust.code, 0, trust.stderr);
  const root = await readFile(join(dir, 'data/pki/authorities/local/root.crt'), 'utf8');
  assert.equal(await readFile(join(store, 'portico-root.crt'), 'utf8'), root);
  assert.match(trust.stdout, /certutil -d sql:\$HOME\/\.pki\/nssdb -A -t C,, -n "Portico Local CA" -i .*root\.crt/);
  assert.equal(await readFile(log, 'utf8'), 'run \n');

  const untrust = await runCli(['untrust'], dir, env);
  assert.equal(untrust.code, 0, untrust.stderr);
  assert.equal(existsSync(join(store, 'portico-root.crt')), false);
  assert.equal(await readFile(log, 'utf8'), 'run \nrun --fresh\n');
  assert.match(untrust.stdout, /removed/);
  const again = await runCli(['untrust'], dir, env);
  assert.match(again.stdout, /was not in the system trust store/);
});

test('trust on a system without the Debian store says what to do and exits 1', async (t) => {
  const dir = await tempDir(t);
  const env = { ...process.env, PORTICO_DATA_DIR: join(dir, 'data'), PORTICO_TRUST_DIR: join(dir, 'nope'), PORTICO_UPDATE_CA_COMMAND: 'true' };
  const r = await runCli(['trust'], dir, env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does not exist: this is not a Debian-style system; add .*root\.crt to the system trust store by hand/);
});
