/**
 * Routing through a live server: nginx location precedence observed by which upstream or
 * `respond` answers, strip_prefix, the auto-redirect to a proxied prefix's slash form, per-route
 * response header edits on proxied responses, and the respond / redirect handlers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { all, http, json, one, rawRequest } from './support.js';

/** An upstream that answers with its name and the path it was sent. */
function named(name: string): Promise<TestUpstream> {
  return startUpstream((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ name, url: req.url }));
  });
}

const said = (r: { body: Buffer }) => r.body.toString();

test('location precedence: = beats everything, ^~ beats regex, regex beats plain prefix, longest prefix wins', async (t) => {
  const [root, docs, v2] = await Promise.all([named('root'), named('docs'), named('v2')]);
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/', ...proxyTo(root.address) },
          { path: '= /', respond: { body: 'exact root' } },
          { path: '/documents/', ...proxyTo(docs.address) },
          { path: '^~ /images/', respond: { body: 'noregex images' } },
          { path: '~* \\.(gif|jpg|jpeg)$', respond: { body: 'regex images' } },
          { path: '~ ^/documents/.*\\.jpg$', respond: { body: 'second regex' } },
          { path: '/api/', respond: { body: 'api' } },
          { path: '/api/v2/', ...proxyTo(v2.address) },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), root.close(), docs.close(), v2.close()]));

  const get = (path: string) => http(`${portico.url}${path}`);
  assert.equal(said(await get('/')), 'exact root');
  assert.deepEqual(json(await get('/index.html')), { name: 'root', url: '/index.html' });
  assert.deepEqual(json(await get('/documents/document.html')), { name: 'docs', url: '/documents/document.html' });
  assert.equal(said(await get('/images/1.gif')), 'noregex images');
  // The first matching regex in config order, not the more specific one.
  assert.equal(said(await get('/documents/1.jpg')), 'regex images');
  assert.equal(said(await get('/other/PHOTO.JPG')), 'regex images');
  assert.deepEqual(json(await get('/api/v2/users?page=2')), { name: 'v2', url: '/api/v2/users?page=2' });
  assert.equal(said(await get('/api/v1/users')), 'api');
  // Routing uses the normalized path, and so does the upstream when dot segments were resolved
  // (test/security/fragment-target.test.ts; raw socket: node's client would resolve them itself).
  const dotted = await rawRequest(portico.port, 'GET /images/../documents/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.deepEqual(json(dotted), { name: 'docs', url: '/documents/x' });
  assert.equal(said(await get('/%69mages/2.png')), 'noregex images');
});

test('no matching location: 404', async (t) => {
  const portico = await startPortico({ servers: [{ routes: [{ path: '= /only', respond: { body: 'only' } }] }] });
  t.after(() => portico.close());
  const res = await http(`${portico.url}/other`);
  assert.equal(res.status, 404);
  assert.equal(said(res), '404 Not Found\n');
  assert.equal(said(await http(`${portico.url}/only`)), 'only');
});

test('virtual hosts: the Host header picks the server, unknown hosts go to the default', async (t) => {
  const [a, b] = await Promise.all([named('a'), named('b')]);
  const portico = await startPortico({
    servers: [
      { hosts: ['a.example'], routes: [{ path: '/', ...proxyTo(a.address) }] },
      { hosts: ['*.b.example'], listen: ['127.0.0.1:0'], routes: [{ path: '/', ...proxyTo(b.address) }] },
    ],
  });
  t.after(() => Promise.all([portico.close(), a.close(), b.close()]));

  assert.equal(json<{ name: string }>(await http(`${portico.url}/`, { headers: { Host: 'a.example' } })).name, 'a');
  assert.equal(json<{ name: string }>(await http(`${portico.url}/`, { headers: { Host: 'www.b.example:8080' } })).name, 'b');
  assert.equal(json<{ name: string }>(await http(`${portico.url}/`, { headers: { Host: 'unknown.example' } })).name, 'a');
});

test('strip_prefix removes the route prefix from the path sent upstream, keeping the query and encoding', async (t) => {
  const [api, svc] = await Promise.all([named('api'), named('svc')]);
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/api/', strip_prefix: true, ...proxyTo(api.address) },
          { path: '~ ^/svc/(\\w+)', strip_prefix: '/svc', ...proxyTo(svc.address) },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), api.close(), svc.close()]));

  // Raw requests: node's client would normalize the paths before sending them.
  const url = async (path: string) =>
    json<{ url: string }>(await rawRequest(portico.port, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`)).url;
  assert.equal(await url('/api/users/7?fields=a,b'), '/users/7?fields=a,b');
  assert.equal(await url('/api/'), '/');
  // Encoded bytes pass as sent: an encoded slash stays inside its segment.
  assert.equal(await url('/api/a%20b/%2Fc'), '/a%20b/%2Fc');
  assert.equal(await url('/api/projects/group%2Fproject/issues'), '/projects/group%2Fproject/issues');
  // Dot segments and "//" are resolved first (nginx's proxy_pass with a URI does the same).
  assert.equal(await url('/api//users/./7'), '/users/7');
  assert.equal(await url('/api/x/../y%20z'), '/y%20z');
  assert.equal(await url('/svc/orders?id=1'), '/orders?id=1');
});

test('a proxied "/api/" answers "/api" with 301 to "/api/", keeping the query; other handlers do not', async (t) => {
  const api = await named('api');
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/api/', ...proxyTo(api.address) },
          { path: '/docs/', respond: { body: 'docs' } },
          { path: '/', respond: { status: 404, body: 'fallback' } },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), api.close()]));

  const res = await rawRequest(portico.port, 'GET /api?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(res.status, 301);
  assert.equal(one(res, 'location'), '/api/?x=1');
  assert.equal(api.seen.length, 0);
  const docs = await http(`${portico.url}/docs`);
  assert.equal(docs.status, 404);
  assert.equal(said(docs), 'fallback');
  assert.deepEqual(json(await http(`${portico.url}/api/`)), { name: 'api', url: '/api/' });
});

test('response_headers set / add / remove apply to proxied responses', async (t) => {
  const upstream = await startUpstream((_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=600');
    res.setHeader('X-Powered-By', 'Django');
    res.setHeader('Server', 'gunicorn');
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.setHeader('Vary', 'Cookie');
    res.end('page');
  });
  const portico = await startPortico({
    servers: [
      {
        routes: [
          {
            path: '/',
            response_headers: {
              set: { 'Cache-Control': 'no-store', 'X-Route': '{path}' },
              add: { Vary: 'Accept-Encoding', 'X-Frame-Options': 'DENY' },
              remove: ['X-Powered-By', 'Server'],
            },
            ...proxyTo(upstream.address),
          },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await rawRequest(portico.port, 'GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'page');
  assert.deepEqual(all(res, 'cache-control'), ['no-store']);
  assert.deepEqual(all(res, 'x-route'), ['/page']);
  assert.deepEqual(all(res, 'vary'), ['Cookie', 'Accept-Encoding']);
  assert.deepEqual(all(res, 'x-frame-options'), ['DENY']);
  assert.deepEqual(all(res, 'x-powered-by'), []);
  assert.deepEqual(all(res, 'server'), []);
  assert.deepEqual(all(res, 'set-cookie'), ['a=1', 'b=2']);
});

test('response_headers also apply to the error page of a failed upstream', async (t) => {
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', response_headers: { set: { 'X-Edge': 'portico' } }, ...proxyTo('127.0.0.1:1') }] }],
  });
  t.after(() => portico.close());
  const res = await http(`${portico.url}/`);
  assert.equal(res.status, 502);
  assert.equal(res.headers['x-edge'], 'portico');
});

test('respond: status, body, headers, default content type; HEAD gets no body', async (t) => {
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '= /health', respond: { body: 'ok\n' } },
          { path: '= /teapot', respond: { status: 418, body: '{"short":true}', headers: { 'Content-Type': 'application/json', 'X-A': 'b' } } },
          { path: '= /empty', respond: { status: 204 } },
        ],
      },
    ],
  });
  t.after(() => portico.close());

  const health = await rawRequest(portico.port, 'GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(health.status, 200);
  assert.equal(health.body.toString(), 'ok\n');
  assert.equal(one(health, 'content-type'), 'text/plain; charset=utf-8');
  assert.equal(one(health, 'content-length'), '3');

  const teapot = await rawRequest(portico.port, 'GET /teapot HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(teapot.status, 418);
  assert.equal(teapot.body.toString(), '{"short":true}');
  assert.equal(one(teapot, 'content-type'), 'application/json');
  assert.equal(one(teapot, 'x-a'), 'b');

  const head = await rawRequest(portico.port, 'HEAD /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { head: true });
  assert.equal(head.status, 200);
  assert.equal(one(head, 'content-length'), '3');
  assert.equal(head.raw.toString('latin1').endsWith('\r\n\r\n'), true);

  const empty = await http(`${portico.url}/empty`);
  assert.equal(empty.status, 204);
  assert.equal(empty.body.length, 0);
});

test('redirect to "https://{host}{uri}" keeps the host without its port, the path and the query', async (t) => {
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/', redirect: { to: 'https://{host}{uri}', status: 301 } },
          { path: '/old/', redirect: { to: '/new/' } },
        ],
      },
    ],
  });
  t.after(() => portico.close());

  const res = await rawRequest(portico.port, 'GET /shop/cart?id=3&x=%20 HTTP/1.1\r\nHost: Shop.Example:8080\r\nConnection: close\r\n\r\n');
  assert.equal(res.status, 301);
  assert.equal(one(res, 'location'), 'https://shop.example/shop/cart?id=3&x=%20');
  assert.equal(one(res, 'content-length'), '0');

  const old = await http(`${portico.url}/old/page`);
  assert.equal(old.status, 302);
  assert.equal(old.headers.location, '/new/');
});
