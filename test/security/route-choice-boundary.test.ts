/**
 * Route choice (host, location, server and route rewrites, maps, templates) runs request text
 * through code that can throw; it runs inside the request's error boundary, so an exception
 * is a 500 and one log line, never an uncaught exception that ends the process.
 *  - a dispatcher whose server-level and route-level rewrites throw (standing in for any bug
 *    there), for a request and for an Upgrade: 500, logged, the next request served;
 *  - the throw sites that were reachable from request data: a rewrite capture that splits an
 *    emoji's surrogate pair ("^/(.)" on "/%F0%9F%98%80") made encodeURI throw, in a redirect
 *    target (template) and in the path sent upstream (encodePath). Now U+FFFD, encoded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { validateConfig } from '../../src/config/load.js';
import { compile } from '../../src/compile/compile.js';
import { createDispatcher } from '../../src/server/dispatch.js';
import { ErrorLog } from '../../src/log/error-log.js';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startRecordingOrigin } from '../helpers/recording-origin.js';
import { RawClient, one, rawRequest } from '../proxy/support.js';

test('an exception in route choice (a server or route rewrite) is a 500 and one log line, for requests and upgrades', async (t) => {
  const config = validateConfig(
    {
      servers: [
        {
          listen: ['127.0.0.1:0'],
          hosts: ['a.test'],
          rewrite: [{ match: '^/srv/', to: '/x' }],
          routes: [
            { path: '/route/', rewrite: [{ match: '^', to: '/y' }], respond: { body: 'route' } },
            { path: '/', respond: { body: 'ok' } },
          ],
        },
      ],
      access_log: false,
    },
    'test.yaml',
  );
  const lines: Record<string, unknown>[] = [];
  const errorLog = new ErrorLog('info');
  (errorLog as { logger: unknown }).logger = pino(
    { level: 'debug', base: undefined },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    }),
  );
  const compiled = compile(config, { log: errorLog });
  t.after(() => {
    compiled.pools.destroy();
    compiled.groups.close();
  });
  const plan = compiled.listeners[0]!;
  const vhost = plan.hosts.match('a.test')!;
  // Any bug in a rewrite, map or template: the server-level rewrites throw for "/srv/...".
  const serverRewrites = vhost.rewrites!;
  (vhost as { rewrites: typeof serverRewrites }).rewrites = (ex) => {
    if (ex.path.startsWith('/srv/')) throw new Error('boom in a server rewrite');
    return serverRewrites(ex);
  };
  const route = vhost.locations.match('/route/x', undefined as never);
  assert.ok(route !== undefined && 'route' in route);
  (route.route as { rewrites: unknown }).rewrites = () => {
    throw new Error('boom in a route rewrite');
  };
  const dispatcher = createDispatcher(plan, {
    accessLog: undefined,
    errorLog,
    scheme: 'http',
    inFlight: { count: 0, onIdle: null },
    limits: { maxHeaders: 100, maxUriLength: 8192 },
    tunnels: new Set(),
  });
  const server = createServer(dispatcher.onRequest);
  server.on('upgrade', dispatcher.onUpgrade);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as AddressInfo).port;
  const get = (path: string, extra = '') => rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: a.test\r\n${extra}Connection: close\r\n\r\n`);

  for (const path of ['/srv/a', '/route/a']) {
    const res = await get(path);
    assert.equal(res.status, 500, path);
    assert.equal(res.body.toString(), '500 Internal Server Error\n');
  }
  const client = await RawClient.connect(port);
  try {
    client.write('GET /srv/ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    const res = await client.response();
    assert.equal(res.status, 500, 'upgrade');
  } finally {
    client.destroy();
  }
  const ok = await get('/fine');
  assert.equal(ok.status, 200);
  assert.equal(ok.body.toString(), 'ok');
  const failures = lines.filter((l) => l.msg === 'handler failed');
  assert.equal(failures.length, 3);
  assert.match(String(failures[0]!.err), /boom in a server rewrite/);
  assert.match(String(failures[1]!.err), /boom in a route rewrite/);
});

test('a rewrite capture that splits a surrogate pair: no URIError out of the redirect target or the upstream path', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({
    servers: [
      {
        hosts: ['a.test'],
        rewrite: [{ match: '^/r/(.)', to: '/moved/{re.1}', flag: 'permanent' }],
        routes: [
          { path: '/p/', rewrite: [{ match: '^/p/(.)', to: '/x/{re.1}', flag: 'break' }], ...proxyTo(origin.address) },
          { path: '/', respond: { body: 'ok' } },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  const get = (path: string) => rawRequest(portico.port, `GET ${path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
  const emoji = '%F0%9F%98%80';
  const redirect = await get(`/r/${emoji}`);
  assert.equal(redirect.status, 301);
  assert.equal(one(redirect, 'Location'), '/moved/%EF%BF%BD', 'the lone high surrogate is U+FFFD');
  const proxied = await get(`/p/${emoji}`);
  assert.equal(proxied.status, 200);
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    ['/x/%EF%BF%BD'],
  );
  assert.equal((await get('/')).status, 200, 'still serving');
});
