/**
 * Limits and access control that used to be left out of an adapted nginx.conf (issue 12, item
 * 12), side by side: real nginx and Portico run one config and answer the same sequences.
 *  - limit_req zones keyed on $arg_a, $cookie_sid, $http_x_api_key and a map over
 *    $binary_remote_addr (the key's parsing is nginx's: `?A=1` is `$arg_a`, `?xa=1` is not);
 *  - limit_req_dry_run (counted, never refused; Portico used to enforce it);
 *  - two limit_conn in one location (both apply; Portico used to apply the first);
 *  - limit_except GET { deny all; } and with auth_basic;
 *  - satisfy any (allow/deny or auth_basic);
 *  - internal (404 unless a rewrite leads there).
 * Before the fix Portico answered 200 where nginx answers 503/403/401/404 in each of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { RawClient, eventually } from '../proxy/support.js';

const HTPASSWD = readFileSync(fileURLToPath(new URL('../../../test/fixtures/htpasswd', import.meta.url)), 'utf8'); // alice:secret

const CONF = (port: number, up: number) => `events {}
http {
    include temp_paths.conf;
    access_log off;
    limit_req_zone $arg_a zone=by_arg:1m rate=1r/m;
    limit_req_zone $cookie_sid zone=by_cookie:1m rate=1r/m;
    limit_req_zone $http_x_api_key zone=by_header:1m rate=1r/m;
    map $arg_tier $tier_key {
        premium "";
        default $binary_remote_addr;
    }
    limit_req_zone $tier_key zone=by_map:1m rate=1r/m;
    limit_req_zone $binary_remote_addr zone=dry:1m rate=1r/m;
    limit_conn_zone $binary_remote_addr zone=conn_ip:1m;
    limit_conn_zone $server_name zone=conn_server:1m;
    server {
        listen 127.0.0.1:${port};
        server_name app.test;
        rewrite ^/srv/(.*)$ /internal/$1;
        location /arg/ { limit_req zone=by_arg; proxy_pass http://127.0.0.1:${up}; }
        location /cookie/ { limit_req zone=by_cookie; proxy_pass http://127.0.0.1:${up}; }
        location /header/ { limit_req zone=by_header; proxy_pass http://127.0.0.1:${up}; }
        location /map/ { limit_req zone=by_map; proxy_pass http://127.0.0.1:${up}; }
        location /dry/ {
            limit_req zone=dry;
            limit_req_dry_run on;
            proxy_pass http://127.0.0.1:${up};
        }
        location /conn/ {
            limit_conn conn_ip 5;
            limit_conn conn_server 1;
            proxy_pass http://127.0.0.1:${up};
        }
        location /readonly/ {
            limit_except GET { deny all; }
            proxy_pass http://127.0.0.1:${up};
        }
        location /writers/ {
            limit_except GET {
                auth_basic "Writers";
                auth_basic_user_file htpasswd;
            }
            proxy_pass http://127.0.0.1:${up};
        }
        location /either/ {
            satisfy any;
            allow 127.0.0.1;
            deny all;
            auth_basic "Either";
            auth_basic_user_file htpasswd;
            proxy_pass http://127.0.0.1:${up};
        }
        location /office/ {
            satisfy any;
            allow 10.0.0.0/8;
            deny all;
            auth_basic "Office";
            auth_basic_user_file htpasswd;
            proxy_pass http://127.0.0.1:${up};
        }
        location /internal/ {
            internal;
            return 200 "internal\\n";
        }
        location /jump/ { rewrite ^/jump/(.*)$ /internal/$1 last; }
    }
}
`;

type Status = number | 'closed';

async function status(port: number, request: string): Promise<Status> {
  const c = await RawClient.connect(port);
  try {
    c.write(request);
    return (await c.response({ ms: 5000, head: request.startsWith('HEAD ') })).status;
  } catch (err) {
    if (c.ended) return 'closed';
    throw err;
  } finally {
    c.destroy();
  }
}

const req = (method: string, path: string, extra = '') => `${method} ${path} HTTP/1.1\r\nHost: app.test\r\n${extra}Connection: close\r\n${method === 'POST' ? 'Content-Length: 0\r\n' : ''}\r\n`;
const get = (path: string, extra = '') => req('GET', path, extra);
const basic = (user: string, pass: string) => `Authorization: Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}\r\n`;

test('limits and access control that were left out: nginx and Portico answer the same', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  // /conn/ requests are held until released, so that two are in progress at once.
  const held: ServerResponse[] = [];
  const upstream = await startUpstream((request, res) => {
    if (request.url!.startsWith('/conn/')) held.push(res);
    else res.end('ok\n');
  });
  t.after(() => upstream.close());
  const [nginxPort, porticoPort] = [await freePort(), await freePort()];
  const files = (port: number) => ({ 'nginx.conf': CONF(port, upstream.port), 'temp_paths.conf': TEMP_PATHS, htpasswd: HTPASSWD });
  const nginxPrefix = await makePrefix(files(nginxPort));
  const porticoPrefix = await makePrefix(files(porticoPort));
  t.after(() => Promise.all([nginxPrefix.remove(), porticoPrefix.remove()]));
  const nginx = await startNginx(nginxPrefix, nginxPort);
  t.after(() => nginx.close());
  const loaded = await loadConfigFile(porticoPrefix.conf);
  assert.deepEqual(loaded.warnings, []);
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());

  /** The same requests, in order, to one server: the statuses. */
  const run = async (port: number, requests: string[]) => {
    const out: Status[] = [];
    for (const r of requests) out.push(await status(port, r));
    return out;
  };
  const sequences: [string, string[], Status[]][] = [
    [
      'limit_req keyed on $arg_a: the name is matched ignoring case, only at the start or after "&"; no a: not limited',
      [get('/arg/x?a=1'), get('/arg/x?a=1'), get('/arg/x?A=1'), get('/arg/x?b=2&a=1'), get('/arg/x?a=2'), get('/arg/x?xa=1'), get('/arg/x?xa=1'), get('/arg/x')],
      [200, 503, 503, 503, 200, 200, 200, 200],
    ],
    [
      'limit_req keyed on $cookie_sid',
      [get('/cookie/x', 'Cookie: sid=abc\r\n'), get('/cookie/x', 'Cookie: other=1; SID=abc\r\n'), get('/cookie/x', 'Cookie: sid=xyz\r\n'), get('/cookie/x', 'Cookie: xsid=abc\r\n'), get('/cookie/x', 'Cookie: xsid=abc\r\n')],
      [200, 503, 200, 200, 200],
    ],
    [
      'limit_req keyed on $http_x_api_key',
      [get('/header/x', 'X-Api-Key: k1\r\n'), get('/header/x', 'X-Api-Key: k1\r\n'), get('/header/x', 'X-Api-Key: k2\r\n'), get('/header/x'), get('/header/x')],
      [200, 503, 200, 200, 200],
    ],
    [
      'limit_req keyed on a map: premium is not limited, everyone else by address',
      [get('/map/x?tier=premium'), get('/map/x?tier=premium'), get('/map/x'), get('/map/x'), get('/map/x?tier=basic')],
      [200, 200, 200, 503, 503],
    ],
    ['limit_req_dry_run: counted, never refused', [get('/dry/x'), get('/dry/x'), get('/dry/x')], [200, 200, 200]],
    [
      'limit_except GET { deny all; }: GET and HEAD pass, other methods 403',
      [get('/readonly/x'), req('HEAD', '/readonly/x'), req('POST', '/readonly/x'), req('DELETE', '/readonly/x'), req('PUT', '/readonly/x')],
      [200, 200, 403, 403, 403],
    ],
    [
      'limit_except GET { auth_basic }: GET passes, POST needs credentials',
      [get('/writers/x'), req('POST', '/writers/x'), req('POST', '/writers/x', basic('alice', 'nope')), req('POST', '/writers/x', basic('alice', 'secret'))],
      [200, 401, 401, 200],
    ],
    ['satisfy any: an allowed address needs no credentials', [get('/either/x'), get('/either/x', basic('alice', 'nope'))], [200, 200]],
    [
      'satisfy any: a denied address needs credentials (401 when both refuse)',
      [get('/office/x'), get('/office/x', basic('alice', 'nope')), get('/office/x', basic('alice', 'secret'))],
      [401, 401, 200],
    ],
    [
      'internal: 404 when asked directly, served after a server-level or a "last" rewrite',
      [get('/internal/x'), get('/srv/x'), get('/jump/x')],
      [404, 200, 200],
    ],
  ];
  for (const [name, requests, expected] of sequences) {
    await t.test(name, async () => {
      assert.deepEqual(await run(nginxPort, requests), expected, 'nginx');
      assert.deepEqual(await run(porticoPort, requests), expected, 'Portico');
    });
  }

  await t.test('two limit_conn in one location: the second (one per server) refuses a second request in progress', async () => {
    for (const [name, port] of [['nginx', nginxPort], ['Portico', porticoPort]] as const) {
      const first = await RawClient.connect(port);
      t.after(() => first.destroy());
      first.write(get('/conn/x'));
      await eventually(() => held.length === 1, `${name}: the first request reaches the upstream`);
      // Within the first limit (5 per address), over the second (1 per server).
      assert.equal(await status(port, get('/conn/x')), 503, name);
      held.shift()!.end('done\n');
      assert.equal((await first.response({ ms: 5000 })).status, 200, name);
      first.destroy();
    }
  });
});
