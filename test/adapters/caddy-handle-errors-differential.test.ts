/**
 * handle_errors for the errors a Caddyfile raises with `error` (issue 18 item 6), side by side:
 * one Caddyfile in real Caddy (Debian's 2.6) and in Portico (test/adapters/differential.ts).
 * Caddy keeps the error's status when the error route's respond gives none, and fills in
 * {err.status_code} and {err.message}. (Status codes on handle_errors came after Caddy 2.6: the
 * golden file handle-errors.txt and Caddy's error_* adapter tests cover them.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/django.js';
import { haveCaddy, startCaddy } from '../helpers/caddy.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { assertSame, observe, type Case } from './differential.js';

const CADDYFILE = (port: number) => `{
	admin off
	auto_https off
}

:${port} {
	error /private* "Unauthorized" 403
	error /gone* 410
	error /teapot 418
	handle_errors {
		handle /private/x {
			respond "x-page"
		}
		handle /private/status {
			respond "moved on" 451
		}
		respond "error {err.status_code}: {err.message}"
	}
	respond "ok"
}
`;

const CASES: Case[] = [
  { name: 'error with a message: the status kept, placeholders filled in', path: '/private/a' },
  { name: 'a narrower handle inside handle_errors', path: '/private/x' },
  { name: 'respond with its own status inside handle_errors', path: '/private/status' },
  { name: 'another error status', path: '/gone/now' },
  { name: 'an error without a message', path: '/teapot' },
  { name: 'no error', path: '/fine' },
];

test('Caddy differential: handle_errors', { skip: !haveCaddy() && 'caddy is not installed' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-caddy-errors-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [caddyPort, porticoPort] = [await freePort(), await freePort()];
  await writeFile(join(dir, 'Caddyfile'), CADDYFILE(caddyPort));
  await writeFile(join(dir, 'portico.Caddyfile'), CADDYFILE(porticoPort));
  const caddy = await startCaddy(join(dir, 'Caddyfile'), dir, caddyPort);
  t.after(() => caddy.close());
  const loaded = await loadConfigFile(join(dir, 'portico.Caddyfile'));
  assert.equal(loaded.warnings.length, 1); // one per handle_errors: errors Portico makes itself keep its own page
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());
  const none: never[] = [];
  for (const [i, c] of CASES.entries()) {
    await t.test(c.name, async () => {
      const x = await observe(caddyPort, c, `c${i}`, none);
      const y = await observe(porticoPort, c, `p${i}`, none);
      assertSame(c, x, y);
    });
  }
});
