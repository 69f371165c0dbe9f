/**
 * Issue 12 item 5: header fields whose names contain "_" are dropped unless the server keeps
 * them (`underscores_in_headers: true`, nginx's directive of that name). WSGI maps "-" and "_"
 * to the same CGI variable, so "X_Forwarded_For: 6.6.6.6" reached Django as
 * HTTP_X_FORWARDED_FOR "6.6.6.6,127.0.0.1", the client's value first. Dropped on both HTTP/1.1
 * paths and HTTP/2, before anything reads them: not forwarded, not in {header.*} or maps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startRecordingOrigin, type OriginRequest } from '../helpers/recording-origin.js';
import { startDjango } from '../helpers/django.js';
import { adaptNginx } from '../../src/config/adapters/nginx/index.js';
import { RawClient, rawRequest } from '../proxy/support.js';
import { leanStats } from '../../src/server/lean/lean-connection.js';
import { leanPath } from '../helpers/upstream-client.js';
import { h2Exchange, startTlsPortico } from './h2.js';

const LOOK_ALIKES = 'X_Forwarded_For: 6.6.6.6\r\nX_Real_IP: 6.6.6.6\r\nX_Forwarded_Proto: https\r\nX_Forwarded_Host: evil.example\r\nx_custom: yes\r\n';

const names = (r: OriginRequest) => r.headers.map(([n]) => n.toLowerCase());
const header = (r: OriginRequest, name: string) => r.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

function routes(address: string) {
  return [
    {
      path: '/',
      ...proxyTo(address),
      request_headers: { set: { 'X-Seen': 'custom={header.x_custom} mapped={map.flag}' } },
    },
  ];
}
const maps = { flag: { source: '{header.x_custom}', values: { yes: 'on' }, default: 'off' } };

test('names with "_" never reach the upstream, nor templates and maps (HTTP/1.1, lean and node paths)', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({ maps, servers: [{ routes: routes(origin.address) }] });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  // A plain GET takes the lean path; a POST with a body goes through node's server.
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  const lean = leanStats.requests;
  client.write(`GET /lean HTTP/1.1\r\nHost: a\r\n${LOOK_ALIKES}X-Kept: 1\r\n\r\n`);
  assert.equal((await client.response()).status, 200);
  // Without node's parser (the fallback run) there is no lean path: node's server serves it.
  assert.equal(leanStats.requests, lean + (leanPath ? 1 : 0), 'the GET was served on the lean path (when there is one)');
  client.write(`POST /node HTTP/1.1\r\nHost: a\r\n${LOOK_ALIKES}Content-Length: 2\r\n\r\nhi`);
  assert.equal((await client.response()).status, 200);
  assert.equal((await rawRequest(portico.port, `GET /ten HTTP/1.0\r\nHost: a\r\n${LOOK_ALIKES}\r\n`)).status, 200);
  assert.equal(origin.requests.length, 3);
  for (const r of origin.requests) {
    assert.deepEqual(
      names(r).filter((n) => n.includes('_')),
      [],
      r.target,
    );
    assert.deepEqual(header(r, 'x-forwarded-for'), ['127.0.0.1'], r.target);
    assert.deepEqual(header(r, 'x-real-ip'), ['127.0.0.1'], r.target);
    assert.deepEqual(header(r, 'x-forwarded-proto'), ['http'], r.target);
    assert.deepEqual(header(r, 'x-seen'), ['custom= mapped=off'], r.target);
  }
  assert.deepEqual(header(origin.requests[0]!, 'x-kept'), ['1']);
});

test('underscores_in_headers: true keeps them, for that server only', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({
    maps,
    servers: [
      { hosts: ['keep.example'], underscores_in_headers: true, routes: routes(origin.address) },
      { hosts: ['drop.example'], routes: routes(origin.address) },
    ],
  });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  assert.equal((await rawRequest(portico.port, `GET /k HTTP/1.1\r\nHost: keep.example\r\nx_custom: yes\r\n\r\n`)).status, 200);
  assert.equal((await rawRequest(portico.port, `GET /d HTTP/1.1\r\nHost: drop.example\r\nx_custom: yes\r\n\r\n`)).status, 200);
  const [kept, dropped] = origin.requests;
  assert.deepEqual(header(kept!, 'x_custom'), ['yes']);
  assert.deepEqual(header(kept!, 'x-seen'), ['custom=yes mapped=on']);
  assert.deepEqual(header(dropped!, 'x_custom'), []);
  assert.deepEqual(header(dropped!, 'x-seen'), ['custom= mapped=off']);
});

test('HTTP/2: names with "_" never reach the upstream', async (t) => {
  const origin = await startRecordingOrigin();
  const tls = await startTlsPortico({ maps, servers: [{ routes: routes(origin.address) }] });
  t.after(() => Promise.all([tls.close(), origin.close()]));
  const out = await h2Exchange(tls, { ':path': '/h2', x_forwarded_for: '6.6.6.6', x_real_ip: '6.6.6.6', x_custom: 'yes' });
  assert.equal(out.status, 200);
  const r = origin.requests[0]!;
  assert.deepEqual(
    names(r).filter((n) => n.includes('_')),
    [],
  );
  assert.deepEqual(header(r, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(header(r, 'x-seen'), ['custom= mapped=off']);
});

test('nginx.conf: underscores_in_headers on (or ignore_invalid_headers off) is carried over', () => {
  const conf = (line: string) => `events {} http { server { listen 8080; ${line} location / { proxy_pass http://127.0.0.1:9; } } }`;
  const server = (line: string) => (adaptNginx(conf(line), 'nginx.conf').config as { servers: Record<string, unknown>[] }).servers[0]!;
  assert.equal(server('underscores_in_headers on;').underscores_in_headers, true);
  assert.equal(server('ignore_invalid_headers off;').underscores_in_headers, true);
  assert.equal(server('underscores_in_headers off;').underscores_in_headers, undefined);
  assert.equal(server('').underscores_in_headers, undefined);
});

test('through gunicorn + Django: the forwarding headers Django reads are Portico\'s alone', { timeout: 120_000 }, async (t) => {
  const django = await startDjango();
  t.after(() => django.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(django.address) }] }] });
  t.after(() => portico.close());
  const res = await rawRequest(portico.port, `GET /api/whoami/ HTTP/1.1\r\nHost: 127.0.0.1\r\n${LOOK_ALIKES}\r\n`);
  assert.equal(res.status, 200);
  const meta = JSON.parse(res.body.toString()) as Record<string, unknown>;
  assert.equal(meta.HTTP_X_FORWARDED_FOR, '127.0.0.1');
  assert.equal(meta.HTTP_X_REAL_IP, '127.0.0.1');
  assert.equal(meta.HTTP_X_FORWARDED_PROTO, 'http');
  assert.equal(meta.HTTP_X_FORWARDED_HOST, '127.0.0.1');
});

test('an Upgrade request with "_" names is served, not thrown out of node (found by the fuzzer, seed 12)', async (t) => {
  // node builds req.headers lazily from the field count its parser saw; an upgrade request's
  // headers had not been built when the list was cut, and building them later read past its
  // end: a TypeError out of the 'upgrade' handler.
  const origin = await startRecordingOrigin();
  const portico = await startPortico({ servers: [{ routes: routes(origin.address) }] });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  for (const upgrade of ['websocket', 'h2c']) {
    const res = await rawRequest(
      portico.port,
      `GET /up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${LOOK_ALIKES}\r\n`,
    );
    assert.ok(res.status >= 200, `${upgrade}: answered ${res.status}`);
  }
  for (const r of origin.requests) assert.deepEqual(names(r).filter((n) => n.includes('_')), [], r.target);
  assert.equal((await rawRequest(portico.port, 'GET /after HTTP/1.1\r\nHost: a\r\n\r\n')).status, 200, 'still serving');
});
