/**
 * Caddyfile guards that used to be left out (issue 12, item 12), side by side: real Caddy and
 * Portico run one Caddyfile and answer the same.
 *  - `@outside not remote_ip ...` with `respond @outside 403` and `abort @outside` (Caddy's
 *    documented allowlist; Portico used to leave the directive out and serve everyone);
 *  - `request_body max_size 10KB` is 10,000 bytes, as Caddy reads sizes (Portico read 10 KiB).
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
import { RawClient } from '../proxy/support.js';

const CADDYFILE = (port: number, up: number) => `{
    admin off
    auto_https off
}
:${port} {
    @outside_ten not remote_ip 10.0.0.0/8
    @outside_local not remote_ip 127.0.0.0/8
    handle /ten/* {
        respond @outside_ten 403
        reverse_proxy 127.0.0.1:${up}
    }
    handle /local/* {
        respond @outside_local 403
        reverse_proxy 127.0.0.1:${up}
    }
    handle /abort/* {
        abort @outside_ten
        reverse_proxy 127.0.0.1:${up}
    }
    handle /upload/* {
        request_body {
            max_size 10KB
        }
        reverse_proxy 127.0.0.1:${up}
    }
    respond "fallback" 200
}
`;

type Status = number | 'closed';

async function status(port: number, request: string): Promise<Status> {
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

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n`;
const post = (path: string, size: number) => `POST ${path} HTTP/1.1\r\nHost: app.test\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n${'x'.repeat(size)}`;

test('Caddyfile guards that were left out: Caddy and Portico answer the same', { skip: !haveCaddy() && 'caddy is not installed' }, async (t) => {
  const upstream = await startUpstream((_req, res) => res.end('ok\n'));
  t.after(() => upstream.close());
  const dir = await mkdtemp(join(tmpdir(), 'portico-caddy-guards-'));
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

  // [name, request, Caddy's status, Portico's when it differs on purpose]
  const cases: [string, string, Status, Status?][] = [
    ['not remote_ip 10.0.0.0/8 + respond 403: 127.0.0.1 is refused', get('/ten/x'), 403],
    ['not remote_ip 127.0.0.0/8 + respond 403: 127.0.0.1 passes', get('/local/x'), 200],
    ['not remote_ip 10.0.0.0/8 + abort: 127.0.0.1 is cut off', get('/abort/x'), 'closed'],
    ['request_body max_size 10KB: 10,000 bytes pass', post('/upload/x', 10_000), 200],
    // Caddy 2.6's proxy fails reading the body (502); Portico refuses it by its Content-Length (413).
    ['request_body max_size 10KB: 10,001 bytes are refused', post('/upload/x', 10_001), 502, 413],
  ];
  for (const [name, request, caddyStatus, porticoStatus = caddyStatus] of cases) {
    await t.test(name, async () => {
      assert.equal(await status(caddyPort, request), caddyStatus, 'Caddy');
      assert.equal(await status(porticoPort, request), porticoStatus, 'Portico');
    });
  }
});
