/**
 * Limits and access control side by side (real nginx and Portico, one nginx.conf):
 * client_max_body_size (413), allow/deny (403), auth_basic with a bcrypt htpasswd (401/200),
 * limit_req (503 past the burst), `return 444` (the connection is closed unanswered), and
 * nginx's 1m default body limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { RawClient } from '../proxy/support.js';

const HTPASSWD = readFileSync(fileURLToPath(new URL('../../../test/fixtures/htpasswd', import.meta.url)), 'utf8'); // alice:secret

const CONF = (port: number, up: number) => `events {}
http {
    include temp_paths.conf;
    limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;
    server {
        listen 127.0.0.1:${port} default_server;
        server_name _;
        return 444;
    }
    server {
        listen 127.0.0.1:${port};
        server_name app.test;
        location / { proxy_pass http://127.0.0.1:${up}; }
        location /small/ {
            client_max_body_size 10;
            proxy_pass http://127.0.0.1:${up};
        }
        location /private/ {
            allow 10.0.0.0/8;
            deny all;
            proxy_pass http://127.0.0.1:${up};
        }
        location /office/ {
            deny 10.0.0.0/8;
            allow all;
            proxy_pass http://127.0.0.1:${up};
        }
        location /admin/ {
            auth_basic "Admins";
            auth_basic_user_file htpasswd;
            proxy_pass http://127.0.0.1:${up};
        }
        location /limited/ {
            limit_req zone=one burst=2 nodelay;
            proxy_pass http://127.0.0.1:${up};
        }
    }
}
`;

/** Status of one request, or "closed" when the server hung up without answering. */
async function status(port: number, request: string): Promise<number | 'closed'> {
  const c = await RawClient.connect(port);
  try {
    c.write(request);
    return (await c.response({ ms: 5000 })).status;
  } catch (err) {
    if (c.ended) return 'closed';
    throw err;
  } finally {
    c.destroy();
  }
}

const get = (path: string, host = 'app.test', extra = '') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`;
const post = (path: string, body: string) => `POST ${path} HTTP/1.1\r\nHost: app.test\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
const basic = (user: string, pass: string) => `Authorization: Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}\r\n`;

test('limits and access control: nginx and Portico answer the same', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const upstream = await startUpstream();
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

  const cases: [string, string, number | 'closed'][] = [
    ['an unknown Host: return 444 closes unanswered', get('/', 'other.test'), 'closed'],
    ['a body within client_max_body_size', post('/small/x', '0123456789'), 200],
    ['a body over client_max_body_size: 413', post('/small/x', '0123456789A'), 413],
    ["nginx's 1m default limit", post('/big', 'x'.repeat(1024 * 1024 + 1)), 413],
    ['1m exactly passes', post('/big', 'x'.repeat(1024 * 1024)), 200],
    ['allow 10/8, deny all: 127.0.0.1 is refused', get('/private/x'), 403],
    ['deny 10/8, allow all: 127.0.0.1 passes', get('/office/x'), 200],
    ['auth_basic without credentials: 401', get('/admin/x'), 401],
    ['auth_basic with a wrong password: 401', get('/admin/x', 'app.test', basic('alice', 'nope')), 401],
    ['auth_basic with the right one: 200', get('/admin/x', 'app.test', basic('alice', 'secret')), 200],
  ];
  for (const [name, request, expected] of cases) {
    await t.test(name, async () => {
      assert.equal(await status(nginxPort, request), expected, 'nginx');
      assert.equal(await status(porticoPort, request), expected, 'Portico');
    });
  }
  await t.test('limit_req burst=2 nodelay at 1r/m: 3 pass, then 503 (nginx\'s status)', async () => {
    const seq = async (port: number) => {
      const out: (number | 'closed')[] = [];
      for (let i = 0; i < 5; i++) out.push(await status(port, get('/limited/x')));
      return out;
    };
    const n = await seq(nginxPort);
    assert.deepEqual(n, [200, 200, 200, 503, 503]);
    assert.deepEqual(await seq(porticoPort), n);
  });
});
