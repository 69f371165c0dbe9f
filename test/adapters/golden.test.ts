/**
 * Golden adapter files (test/adapters/caddyfile/*.txt, test/adapters/nginx/*.txt): the input
 * config, a line of dashes, then the expected canonical config as JSON, or `error:` lines; a
 * second line of dashes may follow with the expected warnings, one per line. The input is named
 * "Caddyfile" or "nginx.conf" in messages. Every expected config must also validate and compile.
 * UPDATE_GOLDEN=1 rewrites the expectations from the current output (review the diff!).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { adaptCaddyfile } from '../../src/config/adapters/caddyfile/index.js';
import { adaptNginx } from '../../src/config/adapters/nginx/index.js';
import { validateConfig } from '../../src/config/load.js';
import { compile } from '../../src/compile/compile.js';
import { silentLog } from '../../src/log/error-log.js';
import { ConfigError } from '../../src/errors.js';
import type { AdaptResult } from '../../src/config/adapters/adapter.js';

const SEPARATOR = /^-{10,}$/m;
const ROOT = fileURLToPath(new URL('../../../test/adapters/', import.meta.url));
/** Environment for {$ENV} in golden Caddyfiles. */
const ENV = { UPSTREAM: '127.0.0.1:9000', SITE: 'env.example' };

const FORMATS: { dir: string; name: string; adapt: (text: string, file: string) => AdaptResult }[] = [
  { dir: 'caddyfile', name: 'Caddyfile', adapt: (text, file) => adaptCaddyfile(text, file, ENV) },
  { dir: 'nginx', name: 'nginx.conf', adapt: (text, file) => adaptNginx(text, file, { prefix: '/srv/nginx' }) },
];

function run(adapt: () => AdaptResult): { output: string; warnings: string[] } {
  try {
    const r = adapt();
    return { output: JSON.stringify(r.config, null, 2), warnings: r.warnings };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { output: err.problems.map((p) => `error: ${p}`).join('\n'), warnings: [] };
  }
}

for (const format of FORMATS) {
  const dir = join(ROOT, format.dir);
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
    test(`${format.dir} golden: ${name}`, () => {
      const path = join(dir, name);
      const [input, expected = '', expectedWarnings = ''] = readFileSync(path, 'utf8').split(SEPARATOR);
      const { output, warnings } = run(() => format.adapt(input!, format.name));
      if (process.env.UPDATE_GOLDEN) {
        const parts = [input!.trimEnd(), output, ...(warnings.length > 0 ? [warnings.join('\n')] : [])];
        writeFileSync(path, parts.join('\n----------\n') + '\n');
        return;
      }
      assert.equal(output, expected.trim(), `${name}: config`);
      assert.deepEqual(warnings, expectedWarnings.trim() === '' ? [] : expectedWarnings.trim().split('\n'), `${name}: warnings`);
      if (!output.startsWith('error:')) {
        const config = validateConfig(JSON.parse(output), name);
        compile(config, { log: silentLog() }, name).pools.destroy();
      }
    });
  }
}
