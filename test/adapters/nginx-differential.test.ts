/**
 * Differential test: one nginx.conf run by a real nginx and by Portico (through the nginx
 * adapter), both in front of the same echo upstream; every request goes to both and the
 * answers and what the upstream saw are compared. Only the listen port differs between the
 * two copies of the config. Deliberate differences are listed per case with the reason
 * (docs/differences.md, docs/adapters.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { assertSame, echo, observe, type Case } from './differential.js';
import { readFileSync } from 'node:fs';
import { CONFIG, CASES, STATIC_FILES } from './nginx-differential.cases.js';

test('nginx differential: the same nginx.conf in nginx and in Portico', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  assert.ok(CASES.length >= 60, `at least 60 cases, got ${CASES.length}`);
  const upstream = await startUpstream(echo);
  t.after(() => upstream.close());
  const [nginxPort, porticoPort] = [await freePort(), await freePort()];
  const files = (port: number) => ({ 'nginx.conf': CONFIG(port, upstream.port), 'temp_paths.conf': TEMP_PATHS, ...STATIC_FILES });
  const nginxPrefix = await makePrefix({ ...files(nginxPort), 'mime.types': readFileSync('/etc/nginx/mime.types', 'utf8') });
  // No mime.types here: the adapter's built-in copy of Debian's stands in.
  const porticoPrefix = await makePrefix(files(porticoPort));
  t.after(() => Promise.all([nginxPrefix.remove(), porticoPrefix.remove()]));
  const nginx = await startNginx(nginxPrefix, nginxPort);
  t.after(() => nginx.close());
  // nginx -p PREFIX: relative root/alias paths and the default root hang off the prefix.
  const loaded = await loadConfigFile(porticoPrefix.conf, { nginxPrefix: porticoPrefix.dir });
  assert.equal(loaded.format, 'nginx');
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());

  for (const [i, c] of CASES.entries()) {
    await t.test(c.name, async () => {
      const n = await observe(nginxPort, c, `n${i}`, upstream.seen);
      const p = await observe(porticoPort, c, `p${i}`, upstream.seen);
      assertSame(c satisfies Case, n, p);
    });
  }
});
