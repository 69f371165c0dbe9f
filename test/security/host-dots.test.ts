/**
 * A Host (or absolute-form authority) with an empty label — "..", or a lone "." — gets a 400, as
 * from nginx (ngx_http_validate_host); found by nginx's own http_host.t once its bare-LF
 * requests were read (issue 18). Checked against a real nginx.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startRecordingOrigin } from '../helpers/recording-origin.js';
import { makePrefix, startNginx, haveNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { freePort } from '../helpers/django.js';
import { rawRequest } from '../proxy/support.js';

const HOSTS = ['.', '.:80', '..examp-LE.com', 'a..b', '[abcd::ef98:0:7654:321]..:98', 'example.com.', 'a.b', 'localhost'];

test('Host with an empty label: the same status as nginx', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const origin = await startRecordingOrigin();
  t.after(() => origin.close());
  const port = await freePort();
  const prefix = await makePrefix({
    'nginx.conf': `worker_processes 1; events { worker_connections 64; } http { ${TEMP_PATHS} access_log off;
      server { listen 127.0.0.1:${port}; location / { proxy_pass http://${origin.address}; } } }`,
  });
  t.after(() => prefix.remove());
  const nginx = await startNginx(prefix, port);
  t.after(() => nginx.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(origin.address) }] }] });
  t.after(() => portico.close());
  for (const host of HOSTS) {
    for (const form of ['header', 'absolute'] as const) {
      const req = (p: string) => (form === 'header' ? `GET /${p} HTTP/1.0\r\nHost: ${host}\r\n\r\n` : `GET http://${host}/${p} HTTP/1.0\r\n\r\n`);
      const expected = (await rawRequest(port, req('nginx'))).status;
      const got = (await rawRequest(portico.port, req('portico'))).status;
      assert.equal(got, expected, `${host} (${form}): nginx ${expected}, Portico ${got}`);
    }
  }
});
