// nginx's stub_status location, adapted: Portico answers it in nginx's exact text format (the
// same pattern matches real nginx's answer), with counts that move with traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adaptNginx } from '../../src/config/adapters/nginx/index.js';
import { validateConfig } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { closedPort } from '../proxy/support.js';

// ngx_http_stub_status_module.c's template, spaces included.
const FORMAT = /^Active connections: (\d+) \nserver accepts handled requests\n (\d+) (\d+) (\d+) \nReading: (\d+) Writing: (\d+) Waiting: (\d+) \n$/;

const conf = (port: number) => `events {}
http {
  ${TEMP_PATHS}
  access_log off;
  server {
    listen 127.0.0.1:${port};
    location = /basic_status { stub_status; }
    location / { return 200 ok; }
  }
}`;

test("stub_status answers in nginx's format, as nginx does", async (t) => {
  const nginxPort = await closedPort();
  const prefix = await makePrefix({ 'nginx.conf': conf(nginxPort) });
  t.after(() => prefix.remove());
  const nginx = await startNginx(prefix, nginxPort);
  t.after(() => nginx.close());
  const fromNginx = await fetch(`http://127.0.0.1:${nginxPort}/basic_status`);
  assert.match(await fromNginx.text(), FORMAT, 'the pattern is nginx\'s own format');

  const port = await closedPort();
  const { config } = adaptNginx(conf(port), prefix.conf);
  const server = await startServer(validateConfig(config, prefix.conf), { errorLog: silentLog(), accessLog: false });
  t.after(() => server.close());
  const first = await fetch(`http://127.0.0.1:${port}/basic_status`);
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('content-type'), 'text/plain');
  const a = FORMAT.exec(await first.text());
  assert.ok(a, 'Portico answers in the same format');
  for (let i = 0; i < 5; i++) await (await fetch(`http://127.0.0.1:${port}/x`, { headers: { Connection: 'close' } })).text();
  const b = FORMAT.exec(await (await fetch(`http://127.0.0.1:${port}/basic_status`)).text())!;
  assert.ok(b);
  assert.ok(Number(b[4]) >= Number(a[4]) + 6, 'requests count the five and this one');
  assert.ok(Number(b[2]) >= Number(a[2]) + 5, 'accepts count the new connections');
  assert.equal(b[2], b[3], 'handled = accepts');
});
