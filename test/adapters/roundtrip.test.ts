/**
 * `portico adapt` output round-trips: the YAML it prints, run by Portico, behaves as the
 * original nginx.conf / Caddyfile does. Checked two ways: the validated configs are equal
 * (every golden Caddyfile, the seeds, the differential nginx.conf), and the differential
 * test's requests get identical answers from both (no differences allowed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { makePrefix, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { assertSame, echo, observe } from './differential.js';
import { CASES, CONFIG, STATIC_FILES } from './nginx-differential.cases.js';

const ROOT = fileURLToPath(new URL('../../../test/', import.meta.url));

/** adapt FILE with the CLI, write the YAML next to it, and load both. */
async function adaptBoth(file: string, extraArgs: string[] = []) {
  const r = await runCli(['adapt', '-c', file, ...extraArgs]);
  assert.equal(r.code, 0, r.stderr);
  const yamlFile = `${file}.portico.yaml`;
  await writeFile(yamlFile, r.stdout);
  const prefixArg = extraArgs.indexOf('--nginx-prefix');
  const original = await loadConfigFile(file, prefixArg >= 0 ? { nginxPrefix: extraArgs[prefixArg + 1] } : {});
  const adapted = await loadConfigFile(yamlFile);
  assert.equal(adapted.format, 'yaml');
  // Every warning is in the YAML too, as a comment.
  for (const w of original.warnings) assert.ok(r.stdout.includes(`# warning: ${w}`), w);
  return { original, adapted, yamlFile, stdout: r.stdout };
}

test('adapt round-trips every golden Caddyfile and the seeds to an equal config', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-roundtrip-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const inputs: { name: string; text: string; args?: string[] }[] = [];
  for (const name of readdirSync(join(ROOT, 'adapters/caddyfile')).filter((f) => f.endsWith('.txt'))) {
    const [text, expected] = readFileSync(join(ROOT, 'adapters/caddyfile', name), 'utf8').split(/^-{10,}$/m);
    if (expected!.trim().startsWith('error:')) continue;
    inputs.push({ name: `${name}.Caddyfile`, text: text!, args: ['--adapter', 'caddyfile'] });
  }
  for (const name of ['000-nginx.conf', '001-nginx.conf', '003-sites-available.conf']) inputs.push({ name, text: readFileSync(join(ROOT, 'fixtures/seeds', name), 'utf8'), args: ['--adapter', 'nginx'] });
  inputs.push({ name: '002-Caddyfile', text: readFileSync(join(ROOT, 'fixtures/seeds/002-Caddyfile'), 'utf8') });
  for (const input of inputs) {
    await t.test(input.name, async () => {
      const file = join(dir, input.name);
      // Golden files use {$UPSTREAM} and {$SITE}; give them values here too.
      await writeFile(file, input.text.replaceAll('{$UPSTREAM}', '127.0.0.1:9000').replaceAll('{$SITE}', 'env.example'));
      const { original, adapted } = await adaptBoth(file, input.args);
      assert.deepEqual(adapted.config, original.config);
    });
  }
});

test('adapt round-trips the differential nginx.conf: the YAML answers every request as the nginx.conf does', async (t) => {
  const upstream = await startUpstream(echo);
  t.after(() => upstream.close());
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await makePrefix({ 'nginx.conf': CONFIG(portA, upstream.port), 'temp_paths.conf': TEMP_PATHS, ...STATIC_FILES });
  const b = await makePrefix({ 'nginx.conf': CONFIG(portB, upstream.port), 'temp_paths.conf': TEMP_PATHS, ...STATIC_FILES });
  t.after(() => Promise.all([a.remove(), b.remove()]));
  const fromNginx = await loadConfigFile(a.conf, { nginxPrefix: a.dir });
  const { adapted, original } = await adaptBoth(b.conf, ['--nginx-prefix', b.dir]);
  assert.deepEqual(adapted.config, original.config);
  const one = await startServer(fromNginx.config, { errorLog: silentLog(), accessLog: false });
  const two = await startServer(adapted.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => Promise.all([one.close(), two.close()]));
  for (const [i, c] of CASES.entries()) {
    const x = await observe(portA, c, `rt-a-${i}`, upstream.seen);
    const y = await observe(portB, c, `rt-b-${i}`, upstream.seen);
    // No stated differences here: both are Portico.
    assertSame({ ...c, differs: [] }, x, y);
  }
});
