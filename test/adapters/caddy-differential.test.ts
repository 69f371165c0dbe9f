/**
 * Differential test for the Caddyfile adapter: one Caddyfile run by a real Caddy (Debian's
 * caddy 2.6) and by Portico, both in front of the same echo upstream; every request goes to both
 * and the answers and what the upstream saw are compared (test/adapters/differential.ts). The
 * two copies differ only in the port. Deliberate differences are stated per case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { haveCaddy, startCaddy } from '../helpers/caddy.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { assertSame, echo, observe, type Case } from './differential.js';

const CADDYFILE = (port: number, up: number, dir: string) => `{
	admin off
	auto_https off
}

:${port} {
	header X-Server main
	@legacy path /legacy/* /old-api/*
	redir /moved /target permanent
	redir /moved-temp /target
	rewrite /search /find?q=1
	handle_path /strip/* {
		reverse_proxy 127.0.0.1:${up}
	}
	handle /api/* {
		reverse_proxy 127.0.0.1:${up} {
			header_up X-Forwarded-Proto https
			header_up Host {upstream_hostport}
			header_up -X-Remove-Me
			header_up X-Path {path}
			header_down X-Own down
		}
	}
	handle /api/v2/* {
		respond "v2" 200
	}
	handle_path /static/* {
		root * ${dir}/static
		file_server
	}
	handle @legacy {
		respond "legacy" 410
	}
	handle /find {
		reverse_proxy 127.0.0.1:${up}
	}
	route /route/* {
		header X-Own route
		respond "route"
	}
	handle /files/* {
		root * ${dir}
		try_files {path} /files/index.html
		file_server
	}
	handle /exact {
		respond "exact"
	}
	handle {
		reverse_proxy 127.0.0.1:${up}
	}
}

http://api.test:${port} {
	respond "api host"
}

http://partial.test:${port} {
	respond /only "only"
}
`;

const CASES: Case[] = [
  { name: 'catch-all handle proxies', path: '/anything?x=1' },
  { name: 'the root', path: '/' },
  { name: 'client headers and a spoofed X-Forwarded-For', path: '/h', headers: [['X-Forwarded-For', '1.2.3.4'], ['X-Anything', 'kept']] },
  { name: 'POST body', method: 'POST', path: '/form', body: 'a=1' },
  { name: 'redir permanent', path: '/moved' },
  { name: 'redir default 302', path: '/moved-temp?q=1' },
  { name: 'site rewrite with a query (replaces the old one), then the matching handle', path: '/search?old=1' },
  { name: 'handle_path strips the prefix', path: '/strip/a/b?c=d' },
  { name: 'handle_path: the prefix alone', path: '/strip/' },
  { name: 'handle with header_up/header_down', path: '/api/users', headers: [['X-Remove-Me', 'x']] },
  { name: 'paths match case-insensitively', path: '/API/Users' },
  { name: 'a longer handle wins whatever the order', path: '/api/v2/thing' },
  { name: '/api/* does not match /api', path: '/api' },
  { name: 'handle_path with file_server', path: '/static/app.css' },
  { name: 'handle_path with file_server: a directory index', path: '/static/' },
  { name: 'handle_path with file_server: missing', path: '/static/nope.css' },
  { name: 'named matcher with two paths (first)', path: '/legacy/x' },
  { name: 'named matcher with two paths (second)', path: '/old-api/y' },
  { name: 'route keeps its order: header then respond', path: '/route/r' },
  { name: 'try_files: an existing file', path: '/files/real.txt' },
  { name: 'try_files: the fallback file', path: '/files/some/route' },
  { name: 'exact path', path: '/exact' },
  { name: 'exact path does not match a longer one', path: '/exact/more' },
  { name: 'another site by Host', path: '/x', host: 'api.test' },
  { name: 'an unknown Host goes to the catch-all site', path: '/x', host: 'unknown.test' },
  { name: 'a site without a catch-all route answers an empty 200', path: '/other', host: 'partial.test' },
  { name: 'that site\'s own route', path: '/only', host: 'partial.test' },
  { name: 'HEAD', method: 'HEAD', path: '/head' },
  {
    name: 'dot segments are resolved before matching',
    path: '/strip/../api/users',
    differs: [
      {
        field: 'upstream.header.x-path',
        caddy: '/strip/../api/users',
        portico: '/api/users',
        why: "Caddy's {path} is the path as received; Portico's is the normalized path it routed on",
      },
      {
        field: 'upstream.url',
        caddy: '/strip/../api/users',
        portico: '/api/users',
        why: 'Portico sends the path it routed on when it resolved dot segments (docs/differences.md)',
      },
    ],
  },
  { name: 'encoded path', path: '/strip/a%20b' },
];

test('Caddy differential: the same Caddyfile in Caddy and in Portico', { skip: !haveCaddy() && 'caddy is not installed' }, async (t) => {
  const upstream = await startUpstream(echo);
  t.after(() => upstream.close());
  const dir = await mkdtemp(join(tmpdir(), 'portico-caddy-diff-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'static'));
  await mkdir(join(dir, 'files'));
  await writeFile(join(dir, 'static', 'app.css'), 'body { color: red }\n');
  await writeFile(join(dir, 'static', 'index.html'), '<p>static index</p>\n');
  await writeFile(join(dir, 'files', 'real.txt'), 'real\n');
  await writeFile(join(dir, 'files', 'index.html'), '<p>files index</p>\n');
  const [caddyPort, porticoPort] = [await freePort(), await freePort()];
  await writeFile(join(dir, 'Caddyfile'), CADDYFILE(caddyPort, upstream.port, dir));
  await writeFile(join(dir, 'portico.Caddyfile'), CADDYFILE(porticoPort, upstream.port, dir));
  const caddy = await startCaddy(join(dir, 'Caddyfile'), dir, caddyPort);
  t.after(() => caddy.close());
  const loaded = await loadConfigFile(join(dir, 'portico.Caddyfile'));
  assert.equal(loaded.format, 'caddyfile');
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());
  for (const [i, c] of CASES.entries()) {
    await t.test(c.name, async () => {
      const x = await observe(caddyPort, c, `c${i}`, upstream.seen);
      // Caddy's Go transport asks the upstream for gzip when the client did not (and inflates the
      // answer itself); Portico passes the client's Accept-Encoding, or none. On purpose.
      if (x.upstream && c.method !== 'HEAD' && !c.headers?.some(([n]) => n.toLowerCase() === 'accept-encoding')) {
        assert.equal(x.upstream.headers['accept-encoding'], 'gzip');
        delete x.upstream.headers['accept-encoding'];
      }
      const y = await observe(porticoPort, c, `p${i}`, upstream.seen);
      assertSame(c, x, y);
    });
  }
});
