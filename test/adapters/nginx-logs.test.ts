// The nginx adapter carries log_format, access_log (per server and location: off, buffer=,
// flush=, if=) and error_log (file and level) over, and the result logs as nginx would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { adaptNginx } from '../../src/config/adapters/nginx/index.js';
import { validateConfig } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { closedPort } from '../proxy/support.js';

test('log_format, access_log per server and location, and error_log are carried over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portico-nginx-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await closedPort();
  const conf = `
error_log ${dir}/error.log warn;
events {}
http {
  log_format timed '$remote_addr "$request" $status $request_time $upstream_connect_time';
  log_format js escape=json '{"uri":"$request_uri","status":$status}';
  map $request_uri $loggable { /health 0; default 1; }
  access_log ${dir}/main.log timed buffer=16k flush=2s if=$loggable;
  server {
    listen 127.0.0.1:${port};
    location /api/ { access_log ${dir}/api.log js; return 200 api; }
    location /quiet/ { access_log off; return 200 quiet; }
    location / { return 200 root; }
  }
}`;
  const file = join(dir, 'nginx.conf');
  const { config, warnings } = adaptNginx(conf, file);
  const c = config as Record<string, any>;
  assert.deepEqual(c.log_formats, {
    timed: '$remote_addr "$request" $status $request_time -',
    js: { template: '{"uri":"$request_uri","status":$status}', escape: 'json' },
  });
  assert.deepEqual(c.access_log, { path: `${dir}/main.log`, format: 'timed', buffer: '16k', flush: '2s', if: '$loggable' });
  assert.equal(c.error_log, `${dir}/error.log`);
  assert.equal(c.log_level, 'warn');
  const routes = c.servers[0].routes as { path: string; access_log?: unknown }[];
  assert.deepEqual(routes.find((r) => r.path === '/api/')!.access_log, { path: `${dir}/api.log`, format: 'js' });
  assert.equal(routes.find((r) => r.path === '/quiet/')!.access_log, false);
  assert.equal(routes.find((r) => r.path === '/')!.access_log, undefined);
  assert.ok(warnings.some((w) => /cannot compute \$upstream_connect_time/.test(w)), warnings.join('\n'));

  const valid = validateConfig(config, file);
  const server = await startServer(valid, { errorLog: silentLog() });
  const url = `http://127.0.0.1:${server.addresses[0]!.port}`;
  for (const path of ['/a', '/health', '/api/x', '/quiet/y']) await (await fetch(url + path)).text();
  await server.close();
  const main = readFileSync(`${dir}/main.log`, 'utf8').trim().split('\n');
  assert.equal(main.length, 1, main.join('\n'));
  assert.match(main[0]!, /^127\.0\.0\.1 "GET \/a HTTP\/1\.1" 200 \d+\.\d{3} -$/);
  assert.deepEqual(JSON.parse(readFileSync(`${dir}/api.log`, 'utf8')), { uri: '/api/x', status: 200 });
});

test('an unknown variable or log format is an error, as nginx -t says', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portico-nginx-logs-'));
  try {
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, '');
    assert.throws(() => adaptNginx(`events {} http { log_format x '$nosuchvar'; server { listen 8080; location / { return 200; } } }`, file), /unknown "nosuchvar" variable/);
    assert.throws(() => adaptNginx(`events {} http { server { listen 8080; access_log /tmp/x.log nosuchformat; location / { return 200; } } }`, file), /unknown log format "nosuchformat"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
