/**
 * Issue 18 item 2: a request with a second copy of a field nginx takes once gets a 400, as
 * from nginx ("client sent duplicate header line"): an app that reads the first Authorization
 * or If-Match while a hop before it read the last must never get such a request. The list is
 * nginx's (ngx_http_headers_in entries with ngx_http_process_unique_header_line); fields nginx
 * lets repeat (User-Agent, Content-Type, Range...) still pass. Checked against a real nginx.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startRecordingOrigin } from '../helpers/recording-origin.js';
import { makePrefix, startNginx, haveNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { freePort } from '../helpers/django.js';
import { rawRequest } from '../proxy/support.js';

const VALUES: Record<string, [string, string]> = {
  Authorization: ['Basic eDp5', 'Basic YTpi'],
  'If-Modified-Since': ['Mon, 01 Jan 2001 00:00:00 GMT', 'Tue, 02 Jan 2001 00:00:00 GMT'],
  'If-Unmodified-Since': ['Mon, 01 Jan 2001 00:00:00 GMT', 'Tue, 02 Jan 2001 00:00:00 GMT'],
  'If-Match': ['"a"', '"b"'],
  'If-None-Match': ['"a"', '"b"'],
  'If-Range': ['"a"', '"b"'],
  'Content-Range': ['bytes 0-1/2', 'bytes 0-1/2'],
  Expect: ['100-continue', '100-continue'],
  // Repeatable for nginx: passed on.
  'User-Agent': ['a', 'b'],
  'Content-Type': ['text/plain', 'text/html'],
  Range: ['bytes=0-1', 'bytes=0-1'],
  Referer: ['http://a/', 'http://b/'],
  Accept: ['a/b', 'c/d'],
  Cookie: ['a=1', 'b=2'],
};

function get(target: string, name: string, [a, b]: [string, string]): string {
  return `GET ${target} HTTP/1.1\r\nHost: a\r\n${name}: ${a}\r\n${name.toLowerCase()}: ${b}\r\nConnection: close\r\n\r\n`;
}

test('repeated singleton fields: the same status as nginx, and a refused request reaches no upstream', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const origin = await startRecordingOrigin();
  t.after(() => origin.close());
  const port = await freePort();
  const prefix = await makePrefix({
    'nginx.conf': `worker_processes 1; events { worker_connections 64; } http { ${TEMP_PATHS} access_log off;
      server { listen 127.0.0.1:${port}; location / { proxy_pass http://${origin.address}; proxy_http_version 1.1; } } }`,
  });
  t.after(() => prefix.remove());
  const nginx = await startNginx(prefix, port);
  t.after(() => nginx.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(origin.address) }] }] });
  t.after(() => portico.close());
  const refused: string[] = [];
  for (const [name, values] of Object.entries(VALUES)) {
    const expected = (await rawRequest(port, get('/nginx', name, values))).status;
    const before = origin.requests.length;
    const got = (await rawRequest(portico.port, get('/portico', name, values))).status;
    assert.equal(got, expected, `${name} twice: nginx ${expected}, Portico ${got}`);
    if (got === 400) {
      refused.push(name);
      assert.equal(origin.requests.length, before, `${name} twice: nothing reached the upstream`);
    }
  }
  assert.deepEqual(refused, ['Authorization', 'If-Modified-Since', 'If-Unmodified-Since', 'If-Match', 'If-None-Match', 'If-Range', 'Content-Range', 'Expect']);
});
