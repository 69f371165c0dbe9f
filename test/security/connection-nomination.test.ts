/**
 * Issue 12 item 1: a client cannot nominate away, with `Connection`, the framing of the request
 * Portico forwards nor anything Portico writes itself. "Connection: keep-alive, Content-Length"
 * once made Portico drop the body's length and send the body anyway, so the upstream read the
 * body as a second request that no route, access rule, basic auth or rate limit had seen.
 * The recording origin frames what it receives strictly: exactly one request must reach it,
 * with the client's body as its body. Then the same through real gunicorn + Django.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startRecordingOrigin, type OriginRequest } from '../helpers/recording-origin.js';
import { prepareDjango, startGunicorn } from '../helpers/django.js';
import { validateConfig } from '../../src/config/load.js';
import { adaptCaddyfile } from '../../src/config/adapters/caddyfile/index.js';
import { adaptNginx } from '../../src/config/adapters/nginx/index.js';
import { RawClient, eventually } from '../proxy/support.js';
import { upstreamClient } from '../helpers/upstream-client.js';

const SMUGGLED = 'GET /admin/secret HTTP/1.1\r\nHost: app.example\r\nX-Pad: aaaaaaaaaaa\r\n\r\n';

function smugglingPost(target: string, nominated: string, body = SMUGGLED): string {
  return `POST ${target} HTTP/1.1\r\nHost: app.example\r\nConnection: keep-alive, ${nominated}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function header(req: OriginRequest, name: string): string[] {
  return req.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

for (const buffering of [true, false]) {
  test(`"Connection: Content-Length" does not unframe the body (buffering.request ${buffering})`, async (t) => {
    const origin = await startRecordingOrigin();
    const portico = await startPortico({
      servers: [
        {
          routes: [
            { path: '/admin/', respond: { status: 403, body: 'no' } },
            { path: '/', ...proxyTo(origin.address, { buffering: { request: buffering } }) },
          ],
        },
      ],
    });
    t.after(() => Promise.all([portico.close(), origin.close()]));

    const client = await RawClient.connect(portico.port);
    t.after(() => client.destroy());
    const attempts = 10;
    for (let i = 0; i < attempts; i++) {
      client.write(smugglingPost(`/submit/${i}`, i % 2 === 0 ? 'Content-Length' : 'content-length, X-Other'));
      const res = await client.response();
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body.toString()).target, `/submit/${i}`, 'each client gets the answer to its own request');
    }
    assert.deepEqual(origin.unframed, []);
    assert.deepEqual(
      origin.requests.map((r) => r.target),
      Array.from({ length: attempts }, (_, i) => `/submit/${i}`),
      'only the routed requests reach the origin',
    );
    for (const r of origin.requests) {
      assert.equal(r.body.toString(), SMUGGLED);
      assert.deepEqual(header(r, 'content-length'), [String(Buffer.byteLength(SMUGGLED))]);
      assert.deepEqual(header(r, 'transfer-encoding'), []);
    }
  });
}

test('"Connection: Transfer-Encoding" on a chunked body: still one request, body intact', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/buffered/', ...proxyTo(origin.address) },
          { path: '/streamed/', ...proxyTo(origin.address, { buffering: { request: false } }) },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  const chunked = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
  for (const prefix of ['/buffered/', '/streamed/']) {
    const client = await RawClient.connect(portico.port);
    client.write(`POST ${prefix}x HTTP/1.1\r\nHost: a\r\nConnection: Transfer-Encoding, Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`);
    const res = await client.response();
    client.destroy();
    assert.equal(res.status, 200, prefix);
  }
  assert.deepEqual(origin.unframed, []);
  assert.deepEqual(
    origin.requests.map((r) => [r.target, r.body.toString()]),
    [
      ['/buffered/x', SMUGGLED],
      ['/streamed/x', SMUGGLED],
    ],
  );
  // Buffered: de-chunked with its length (WSGI); streamed: chunked again.
  assert.deepEqual(header(origin.requests[0]!, 'content-length'), [String(SMUGGLED.length)]);
  assert.deepEqual(header(origin.requests[1]!, 'transfer-encoding'), ['chunked']);
});

test('Connection cannot nominate away Forwarded from a trusted proxy, nor a route-set header', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({
    servers: [
      {
        trusted_proxies: ['127.0.0.1'],
        routes: [{ path: '/', ...proxyTo(origin.address), request_headers: { set: { 'X-Route': 'r1' } } }],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: Forwarded, X-Route, X-Forwarded-For, Content-Length\r\nForwarded: for=10.0.0.1\r\nX-Route: client\r\nContent-Length: 0\r\n\r\n');
  assert.equal((await client.response()).status, 200);
  const r = origin.requests[0]!;
  assert.deepEqual(header(r, 'forwarded'), ['for=10.0.0.1']);
  assert.deepEqual(header(r, 'x-route'), ['r1']);
  assert.deepEqual(header(r, 'x-forwarded-for'), ['127.0.0.1']);
  // undici sends no Content-Length for a GET without a body (RFC 9110 §8.6: a user agent SHOULD
  // NOT); node's parser client passes the client's "0" on. Either way no body is announced.
  assert.deepEqual(header(r, 'content-length'), upstreamClient === 'undici' ? [] : ['0']);
});

test('request_headers cannot set, add or remove framing or hop-by-hop headers', () => {
  for (const ops of [{ set: { 'Content-Length': '5' } }, { add: { 'Transfer-Encoding': 'chunked' } }, { remove: ['content-length'] }, { set: { Upgrade: 'h2c' } }, { set: { Connection: 'close' } }]) {
    assert.throws(
      () => validateConfig({ servers: [{ routes: [{ path: '/', proxy: { to: '127.0.0.1:1' }, request_headers: ops }] }] }, 'test'),
      /written by Portico itself/,
      JSON.stringify(ops),
    );
  }
});

test('the adapters leave framing and hop-by-hop header edits out instead of producing a refused config', () => {
  const caddy = adaptCaddyfile(
    ':8080 {\n\treverse_proxy 127.0.0.1:9 {\n\t\theader_up Connection upgrade\n\t\theader_up Content-Length 5\n\t\theader_up X-A b\n\t}\n\trequest_header -Transfer-Encoding\n}\n',
    'Caddyfile',
    {},
  );
  const route = (caddy.config as { servers: { routes: Record<string, unknown>[] }[] }).servers[0]!.routes[0]!;
  assert.deepEqual(route.request_headers, { set: { 'X-A': 'b' } });
  assert.equal(caddy.warnings.filter((w) => /writes .* itself/.test(w)).length, 3, caddy.warnings.join('\n'));
  validateConfig(caddy.config, 'Caddyfile');
  const nginx = adaptNginx(
    'events {} http { server { listen 8080; location / { proxy_set_header Content-Length ""; proxy_set_header Proxy-Connection ""; proxy_set_header X-A b; proxy_pass http://127.0.0.1:9; } } }',
    'nginx.conf',
  );
  const nroute = (nginx.config as { servers: { routes: Record<string, unknown>[] }[] }).servers[0]!.routes[0]!;
  assert.deepEqual((nroute.request_headers as { remove?: string[] }).remove, undefined);
  validateConfig(nginx.config, 'nginx.conf');
});

test('through gunicorn (gthread, keep-alive) + Django: the smuggled request never reaches Django', { timeout: 120_000 }, async (t) => {
  // Sync workers close the connection after each response and never read what follows; a
  // keep-alive worker reads it as the next request.
  const prepared = await prepareDjango();
  const django = await startGunicorn(prepared, { workerClass: 'gthread' }).catch(async (err: unknown) => {
    await prepared.cleanup();
    throw err;
  });
  t.after(async () => {
    await django.close();
    await prepared.cleanup();
  });
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/admin/', access: [{ deny: ['all'] }], ...proxyTo(django.address) },
          { path: '/', ...proxyTo(django.address) },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  const smuggled = 'GET /admin/login/?smuggled=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const attempts = 20;
  const lengths: (number | string)[] = [];
  for (let i = 0; i < attempts; i++) {
    const client = await RawClient.connect(portico.port);
    client.write(
      `POST /api/upload/?n=${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive, Content-Length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
    );
    const res = await client.response();
    client.destroy();
    assert.equal(res.status, 200);
    // Another request's answer (the admin login page) here is what smuggling looked like.
    const body = res.body.toString();
    lengths.push(body.startsWith('{') ? (JSON.parse(body).length as number) : body.slice(0, 40));
  }
  // The denied route answers 403 through Portico; Django itself never saw /admin/.
  const denied = await RawClient.connect(portico.port);
  denied.write('GET /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  assert.equal((await denied.response()).status, 403);
  denied.destroy();
  // gunicorn logs a request once it has answered it: wait for the last one's line.
  const lines = (what: string) => django.output().split('\n').filter((l) => l.includes(what)).length;
  await eventually(() => lines('"POST /api/upload/') + lines('/admin/') >= attempts, 'gunicorn to log every request');
  const log = django.output();
  assert.equal(log.split('\n').filter((l) => l.includes('/admin/')).length, 0, log);
  assert.equal(log.split('\n').filter((l) => l.includes('"POST /api/upload/')).length, attempts, log);
  assert.deepEqual(lengths, Array(attempts).fill(smuggled.length), 'Django read the whole body as the body');
});
