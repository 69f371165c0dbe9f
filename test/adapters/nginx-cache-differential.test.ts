/**
 * nginx's proxy cache carried over (issue 15), side by side: real nginx and Portico run one
 * nginx.conf with proxy_cache_path / proxy_cache / proxy_cache_valid / _bypass / _min_uses /
 * _use_stale / add_header $upstream_cache_status, in front of one origin, and answer the same
 * request sequences with the same status, cache status and body.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { delay, rawRequest } from '../proxy/support.js';

const CONF = (port: number, up: number, stale: number, cacheDir: string) => `events {}
http {
    include temp_paths.conf;
    access_log off;
    proxy_cache_path ${cacheDir} levels=1:2 keys_zone=one:1m;
    server {
        listen 127.0.0.1:${port};
        server_name app.test;
        proxy_cache one;
        add_header X-Cache-Status $upstream_cache_status always;
        location / {
            proxy_pass http://127.0.0.1:${up};
            proxy_cache_valid 404 1m;
            proxy_cache_bypass $cookie_nocache;
        }
        location /valid/ {
            proxy_pass http://127.0.0.1:${up};
            proxy_cache_valid 200 1m;
        }
        location /min/ {
            proxy_pass http://127.0.0.1:${up};
            proxy_cache_min_uses 2;
        }
        location /nocache/ {
            proxy_pass http://127.0.0.1:${up};
            proxy_no_cache $arg_skip;
        }
        location /stale/ {
            proxy_pass http://127.0.0.1:${stale};
            proxy_cache_use_stale error timeout;
        }
    }
}
`;

/** What the origin answers for each path (the body names the path and a per-server count). */
const HEADERS: Record<string, Record<string, string>> = {
  '/t': { 'Cache-Control': 'max-age=60' },
  '/valid/x': {},
  '/nostore': { 'Cache-Control': 'no-store, max-age=60' },
  '/private': { 'Cache-Control': 'private, max-age=60' },
  '/cookie': { 'Cache-Control': 'max-age=60', 'Set-Cookie': 'a=b' },
  '/accel': { 'X-Accel-Expires': '60', 'Cache-Control': 'private' },
  '/accel0': { 'X-Accel-Expires': '0', 'Cache-Control': 'max-age=60' },
  '/b': { 'Cache-Control': 'max-age=60' },
  '/h': { 'Cache-Control': 'max-age=60' },
  '/vary': { 'Cache-Control': 'max-age=60', Vary: 'Accept-Language' },
  '/range': { 'Cache-Control': 'max-age=60' },
  '/min/x': { 'Cache-Control': 'max-age=60' },
  '/nocache/x': { 'Cache-Control': 'max-age=60' },
  '/nocache/x?skip=1': { 'Cache-Control': 'max-age=60' },
  '/stale/x': { 'Cache-Control': 'max-age=1' },
};

type Seen = [number, string, string];

test('proxy_cache carried over: nginx and Portico answer the same sequences', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const counts = new Map<string, number>();
  const answer = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const tag = `${req.headers['x-server']}${req.url}${req.headers['accept-language'] ?? ''}`;
    const n = (counts.get(tag) ?? 0) + 1;
    counts.set(tag, n);
    const headers = HEADERS[req.url!];
    const body = req.url === '/range' ? 'SEE-THIS' : `${req.url} ${req.headers['accept-language'] ?? ''} #${n}`;
    res.writeHead(headers === undefined ? 404 : 200, { 'Content-Type': 'text/plain', 'Content-Length': String(body.length), ...headers });
    res.end(body);
  };
  const upstream = await startUpstream(answer);
  t.after(() => upstream.close());
  const staleOrigin = await startUpstream(answer);
  let staleClosed = false;
  t.after(() => (staleClosed ? undefined : staleOrigin.close()));
  const [nginxPort, porticoPort] = [await freePort(), await freePort()];
  const dirs = [mkdtempSync(join(tmpdir(), 'nginx-cache-')), mkdtempSync(join(tmpdir(), 'portico-cache-'))];
  for (const d of dirs) chmodSync(d, 0o777); // nginx's workers run as nobody
  t.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const files = (port: number, dir: string, server: string) => ({
    'nginx.conf': CONF(port, upstream.port, staleOrigin.port, dir).replaceAll('proxy_pass http', `proxy_set_header X-Server ${server};\n            proxy_pass http`),
    'temp_paths.conf': TEMP_PATHS,
  });
  const nginxPrefix = await makePrefix(files(nginxPort, dirs[0]!, 'nginx'));
  const porticoPrefix = await makePrefix(files(porticoPort, dirs[1]!, 'portico'));
  t.after(() => Promise.all([nginxPrefix.remove(), porticoPrefix.remove()]));
  const nginx = await startNginx(nginxPrefix, nginxPort);
  t.after(() => nginx.close());
  const loaded = await loadConfigFile(porticoPrefix.conf);
  assert.deepEqual(loaded.warnings, []);
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());

  const one = async (port: number, method: string, path: string, extra: string[] = []): Promise<Seen> => {
    const res = await rawRequest(port, `${method} ${path} HTTP/1.1\r\nHost: app.test\r\n${extra.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`, { head: method === 'HEAD' });
    const cache = res.headers.find(([n]) => n.toLowerCase() === 'x-cache-status')?.[1] ?? '';
    return [res.status, cache, res.body.toString()];
  };
  const run = async (port: number, steps: [string, string, string[]?][]) => {
    const out: Seen[] = [];
    for (const [method, path, extra] of steps) {
      out.push(await one(port, method, path, extra));
      await delay(30); // both servers finish writing an entry after the response
    }
    return out;
  };
  const sequences: [string, [string, string, string[]?][]][] = [
    ['max-age: MISS then HIT', [['GET', '/t'], ['GET', '/t'], ['GET', '/t']]],
    ['proxy_cache_valid 200 when the upstream says nothing', [['GET', '/valid/x'], ['GET', '/valid/x']]],
    ['proxy_cache_valid 404', [['GET', '/missing'], ['GET', '/missing']]],
    ['no-store, private and Set-Cookie are never stored', [['GET', '/nostore'], ['GET', '/nostore'], ['GET', '/private'], ['GET', '/private'], ['GET', '/cookie'], ['GET', '/cookie']]],
    ['X-Accel-Expires wins over Cache-Control', [['GET', '/accel'], ['GET', '/accel'], ['GET', '/accel0'], ['GET', '/accel0']]],
    ['proxy_cache_bypass $cookie_nocache', [['GET', '/b'], ['GET', '/b', ['Cookie: nocache=1']], ['GET', '/b'], ['GET', '/b', ['Cookie: nocache=0']]]],
    ['HEAD is fetched as GET and stored', [['HEAD', '/h'], ['GET', '/h'], ['HEAD', '/h']]],
    ['Vary: one variant per value', [['GET', '/vary', ['Accept-Language: en']], ['GET', '/vary', ['Accept-Language: fr']], ['GET', '/vary', ['Accept-Language: en']], ['GET', '/vary', ['Accept-Language: fr']]]],
    ['proxy_cache_min_uses 2', [['GET', '/min/x'], ['GET', '/min/x'], ['GET', '/min/x']]],
    ['proxy_no_cache $arg_skip', [['GET', '/nocache/x?skip=1'], ['GET', '/nocache/x?skip=1'], ['GET', '/nocache/x'], ['GET', '/nocache/x']]],
  ];
  for (const [name, steps] of sequences) {
    await t.test(name, async () => {
      const fromNginx = await run(nginxPort, steps);
      const fromPortico = await run(porticoPort, steps);
      assert.deepEqual(fromPortico, fromNginx);
    });
  }

  await t.test('Range from the stored response: nginx only when the upstream sent Accept-Ranges (proxy_force_ranges off), Portico always (docs/differences.md)', async () => {
    const steps: [string, string, string[]?][] = [['GET', '/range'], ['GET', '/range', ['Range: bytes=4-']]];
    assert.deepEqual(await run(nginxPort, steps), [[200, 'MISS', 'SEE-THIS'], [200, 'HIT', 'SEE-THIS']]);
    assert.deepEqual(await run(porticoPort, steps), [[200, 'MISS', 'SEE-THIS'], [206, 'HIT', 'THIS']]);
  });

  await t.test('proxy_cache_use_stale error: the upstream gone, both serve the expired entry as STALE', async () => {
    const steps: [string, string][] = [['GET', '/stale/x']];
    const before = [await run(nginxPort, steps), await run(porticoPort, steps)];
    assert.deepEqual(before[1], before[0]);
    await staleOrigin.close();
    staleClosed = true;
    await delay(2100); // nginx counts whole seconds: max-age=1 is stale after the next second
    const [fromNginx, fromPortico] = [await run(nginxPort, steps), await run(porticoPort, steps)];
    assert.equal(fromNginx[0]![1], 'STALE');
    assert.deepEqual(fromPortico, fromNginx);
  });
});
