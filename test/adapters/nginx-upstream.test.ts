/**
 * `upstream` blocks side by side (real nginx and Portico, one nginx.conf): the weighted round
 * robin sequence, `down` servers never used, `backup` only when the others are gone, and
 * `proxy_next_upstream http_503` moving an idempotent request to the next server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { rawRequest } from '../proxy/support.js';

const named = (name: string, status = 200): Promise<TestUpstream> =>
  startUpstream((_req, res) => {
    res.statusCode = status;
    res.end(name);
  });

const CONF = (port: number, u: Record<string, number>, closed: number) => `events {}
http {
    include temp_paths.conf;
    upstream weighted {
        server 127.0.0.1:${u.a} weight=3;
        server 127.0.0.1:${u.b};
        server 127.0.0.1:${u.c} down;
    }
    upstream failover {
        server 127.0.0.1:${closed};
        server 127.0.0.1:${u.backup} backup;
    }
    upstream busy {
        server 127.0.0.1:${u.busy};
        server 127.0.0.1:${u.b};
    }
    server {
        listen 127.0.0.1:${port};
        location /weighted/ { proxy_pass http://weighted; }
        location /failover/ { proxy_pass http://failover; }
        location /busy/ {
            proxy_next_upstream error timeout http_503;
            proxy_pass http://busy;
        }
    }
}
`;

test('upstream blocks: weighted round robin, down, backup, proxy_next_upstream, in nginx and Portico', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const ups = { a: await named('a'), b: await named('b'), c: await named('c'), backup: await named('backup'), busy: await named('busy', 503) };
  t.after(() => Promise.all(Object.values(ups).map((u) => u.close())));
  const ports = Object.fromEntries(Object.entries(ups).map(([k, v]) => [k, v.port]));
  const closed = await freePort(); // nothing listens there
  const [nginxPort, porticoPort] = [await freePort(), await freePort()];
  const nginxPrefix = await makePrefix({ 'nginx.conf': CONF(nginxPort, ports, closed), 'temp_paths.conf': TEMP_PATHS });
  const porticoPrefix = await makePrefix({ 'nginx.conf': CONF(porticoPort, ports, closed), 'temp_paths.conf': TEMP_PATHS });
  t.after(() => Promise.all([nginxPrefix.remove(), porticoPrefix.remove()]));
  const nginx = await startNginx(nginxPrefix, nginxPort);
  t.after(() => nginx.close());
  const loaded = await loadConfigFile(porticoPrefix.conf);
  assert.deepEqual(loaded.warnings, []);
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());

  const body = async (port: number, path: string) => {
    const r = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    return `${r.status} ${r.body.toString()}`;
  };
  const run = async (port: number, path: string, n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await body(port, path));
    return out;
  };
  // nginx's smooth weighted round robin: a a b a per four requests, c never.
  const weightedNginx = await run(nginxPort, '/weighted/', 8);
  const weightedPortico = await run(porticoPort, '/weighted/', 8);
  assert.deepEqual(weightedPortico, weightedNginx);
  assert.deepEqual(weightedNginx.filter((r) => r === '200 a').length, 6);
  // The only primary refuses connections: the backup answers.
  assert.deepEqual(await run(porticoPort, '/failover/', 3), await run(nginxPort, '/failover/', 3));
  assert.deepEqual(await run(porticoPort, '/failover/', 1), ['200 backup']);
  // A 503 from the first server moves a GET to the next one, in both.
  const busyNginx = await run(nginxPort, '/busy/', 4);
  const busyPortico = await run(porticoPort, '/busy/', 4);
  assert.ok(busyNginx.every((r) => r === '200 b'), busyNginx.join());
  assert.deepEqual(busyPortico, busyNginx);
});
