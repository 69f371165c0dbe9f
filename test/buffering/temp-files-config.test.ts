/**
 * `temp_files`: defaults, a directory Portico cannot create files in refuses the config (a cap
 * that cannot be applied never fails open), relative paths resolve against the config file,
 * and a reload changes the caps of the running budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { compile } from '../../src/compile/compile.js';
import { ConfigError } from '../../src/errors.js';
import { startPortico } from '../helpers/portico.js';
import { silentLog } from '../../src/log/error-log.js';

const routes = [{ path: '/', respond: { body: 'ok' } }];

test('temp_files: defaults 1 GiB in total, 256 MiB per connection, in os.tmpdir()', () => {
  const compiled = compile(validateConfig({ servers: [{ routes }] }, 't.yaml'), { log: silentLog() });
  assert.deepEqual(compiled.tempFiles, { total: 1024 ** 3, perConnection: 256 * 1024 ** 2, dir: tmpdir() });
  compiled.pools.destroy();
});

test('temp_files.dir: missing, or not a directory, refuses the config; relative resolves against the config file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-tfc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'plain'), 'x');
  for (const bad of [join(dir, 'missing'), join(dir, 'plain')]) {
    const config = validateConfig({ temp_files: { dir: bad }, servers: [{ routes }] }, 't.yaml');
    assert.throws(() => compile(config, { log: silentLog() }, join(dir, 't.yaml')), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /temp_files\.dir: cannot create temp files in /);
      return true;
    });
  }
  const relative = compile(validateConfig({ temp_files: { dir: '.', max_total_size: '2MiB', max_connection_size: 0 }, servers: [{ routes }] }, 't.yaml'), { log: silentLog() }, join(dir, 't.yaml'));
  assert.deepEqual(relative.tempFiles, { total: 2 * 1024 * 1024, perConnection: 0, dir });
  relative.pools.destroy();
});

test('temp_files: a reload changes the running budget\'s caps', async (t) => {
  const portico = await startPortico({ temp_files: { max_total_size: '8MiB' }, servers: [{ routes }] });
  t.after(() => portico.close());
  assert.equal(portico.server.spool.total, 8 * 1024 * 1024);
  await portico.server.reload(validateConfig({ access_log: false, temp_files: { max_total_size: 0, max_connection_size: '1MiB' }, servers: [{ listen: ['127.0.0.1:0'], routes }] }, 'reload.yaml'));
  assert.equal(portico.server.spool.total, 0);
  assert.equal(portico.server.spool.perConnection, 1024 * 1024);
});
