/**
 * Caddyfile request matchers beyond the path (issue 18 item 6), side by side: one Caddyfile in
 * real Caddy (Debian's 2.6) and in Portico, in front of the same echo upstream
 * (test/adapters/differential.ts). Matchers guard `respond` (403s), pick `handle` blocks and
 * apply middleware (`header` for one method only), and the `expression` matcher's common CEL forms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { haveCaddy, startCaddy } from '../helpers/caddy.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { assertSame, echo, observe, type Case } from './differential.js';

const CADDYFILE = (port: number, up: number) => `{
	admin off
	auto_https off
}

:${port} {
	@write method POST PUT DELETE
	@json header Content-Type *json*
	@noagent header !User-Agent
	@bearer header_regexp Authorization ^Bearer\\s+[A-Za-z0-9]+$
	@page query page=2
	@tenant vars {header.X-Tenant} blue green
	@private {
		not path /public/*
		path /zone/*
	}
	@expr1 expression {method} == "PATCH"
	@expr2 \`path('/e/*') && {header.X-Key}.startsWith("ab")\`
	@expr3 expression header({'X-Alt': 'yes'}) || query({'alt': '1'})
	@admin host admin.test
	@legacy protocol http/1.0

	header @write X-Own write

	# Guards first: handle blocks with named matchers run in file order.
	handle @noagent {
		respond "no agent" 403
	}
	handle @legacy {
		respond "old" 426
	}
	handle @admin {
		respond "admin"
	}
	handle @private {
		respond @bearer "zone ok" 200
		respond "zone closed" 401
	}
	handle @json {
		reverse_proxy 127.0.0.1:${up}
	}
	handle @page {
		respond "page two"
	}
	handle @tenant {
		respond "tenant"
	}
	handle @expr1 {
		respond "patch"
	}
	handle @expr2 {
		respond "e-key"
	}
	handle @expr3 {
		respond "alt"
	}
	handle {
		reverse_proxy \\
			127.0.0.1:${up}
	}
}
`;

const UA: [string, string] = ['User-Agent', 'test'];

const CASES: Case[] = [
  { name: 'a GET is proxied without the write header', path: '/x', headers: [UA] },
  { name: 'a POST gets the header of `header @write`', method: 'POST', path: '/x', headers: [UA], body: 'a' },
  { name: 'no User-Agent: 403', path: '/x' },
  { name: 'HTTP/1.0: 426', path: '/x', headers: [UA], version: '1.0' },
  { name: 'Host picks the admin handle', path: '/x', host: 'admin.test', headers: [UA] },
  { name: 'not path + path: inside the zone, with a bearer token', path: '/zone/a', headers: [UA, ['Authorization', 'Bearer abc123']] },
  { name: 'inside the zone, a bad token', path: '/zone/a', headers: [UA, ['Authorization', 'Basic abc']] },
  { name: 'the zone matcher\'s not: /public/ is outside it', path: '/public/zone/a', headers: [UA] },
  { name: 'header with wildcards', path: '/x', headers: [UA, ['Content-Type', 'application/json']] },
  { name: 'query', path: '/x?page=2', headers: [UA] },
  { name: 'query with another value', path: '/x?page=3', headers: [UA] },
  { name: 'vars on a placeholder', path: '/x', headers: [UA, ['X-Tenant', 'green']] },
  { name: 'expression: {method} == "PATCH"', method: 'PATCH', path: '/x', headers: [UA], body: '' },
  { name: 'expression: path() && startsWith', path: '/e/1', headers: [UA, ['X-Key', 'abc']] },
  { name: 'expression: path() && startsWith, the header does not start so', path: '/e/1', headers: [UA, ['X-Key', 'zab']] },
  { name: 'expression: header() || query(), by the header', path: '/y', headers: [UA, ['X-Alt', 'yes']] },
  { name: 'expression: header() || query(), by the query', path: '/y?alt=1', headers: [UA] },
];

test('Caddy differential: matchers beyond the path', { skip: !haveCaddy() && 'caddy is not installed' }, async (t) => {
  const upstream = await startUpstream(echo);
  t.after(() => upstream.close());
  const dir = await mkdtemp(join(tmpdir(), 'portico-caddy-matchers-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [caddyPort, porticoPort] = [await freePort(), await freePort()];
  await writeFile(join(dir, 'Caddyfile'), CADDYFILE(caddyPort, upstream.port));
  await writeFile(join(dir, 'portico.Caddyfile'), CADDYFILE(porticoPort, upstream.port));
  const caddy = await startCaddy(join(dir, 'Caddyfile'), dir, caddyPort);
  t.after(() => caddy.close());
  const loaded = await loadConfigFile(join(dir, 'portico.Caddyfile'));
  assert.deepEqual(loaded.warnings, []);
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());
  for (const [i, c] of CASES.entries()) {
    await t.test(c.name, async () => {
      const x = await observe(caddyPort, c, `c${i}`, upstream.seen);
      // Caddy's Go transport asks the upstream for gzip when the client did not (see caddy-differential.test.ts).
      if (x.upstream && !c.headers?.some(([n]) => n.toLowerCase() === 'accept-encoding')) delete x.upstream.headers['accept-encoding'];
      const y = await observe(porticoPort, c, `p${i}`, upstream.seen);
      assertSame(c, x, y);
    });
  }
});
