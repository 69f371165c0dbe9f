// Issue 12, item 15c: an upstream's Location (and Refresh) naming the upstream server's own
// address is rewritten to the route's path by default, as nginx's implicit `proxy_redirect
// default` does, so clients neither see nor follow an internal address; strip_prefix and
// path_prefix map back; `proxy.redirect_default: false` (nginx `proxy_redirect off`) keeps them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico } from '../helpers/portico.js';
import { startRecordingOrigin, type OriginRequest, type RecordingOrigin } from '../helpers/recording-origin.js';
import { makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { freePort } from '../helpers/django.js';
import { adaptNginx } from '../../src/config/adapters/nginx/index.js';
import { http, rawValues } from '../proxy/support.js';

/** An origin answering 302 with the Location (?loc=) or Refresh (?refresh=) the request asks for. */
function redirectingOrigin(): Promise<RecordingOrigin> {
  return startRecordingOrigin((req: OriginRequest) => {
    const q = new URL(req.target, 'http://x').searchParams;
    const loc = q.get('loc');
    const refresh = q.get('refresh');
    const field = loc !== null ? `Location: ${loc}\r\n` : refresh !== null ? `Refresh: ${refresh}\r\n` : '';
    return `HTTP/1.1 302 Found\r\n${field}Content-Length: 0\r\n\r\n`;
  });
}

async function redirectOf(url: string, header = 'location'): Promise<string | undefined> {
  const r = await http(url);
  return rawValues(r.rawHeaders, header)[0];
}

const q = (v: string) => encodeURIComponent(v);

test("the upstream's own address in Location becomes the route's path (default, strip_prefix, path_prefix)", async (t) => {
  const origin = await redirectingOrigin();
  t.after(() => origin.close());
  const own = `http://${origin.address}`;
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/app/', strip_prefix: true, proxy: { to: origin.address } },
          { path: '/api/', proxy: { to: origin.address, path_prefix: '/v1/' } },
          { path: '/', proxy: { to: origin.address } },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  const cases: [string, string | undefined][] = [
    [`/r?loc=${q(`${own}/next/?a=1`)}`, '/next/?a=1'],
    [`/r?loc=${q(`${own}/`)}`, '/'],
    [`/app/r?loc=${q(`${own}/next/`)}`, '/app/next/'],
    [`/api/r?loc=${q(`${own}/v1/next`)}`, '/api/next'],
    // Outside what the route sends upstream: left alone, as nginx's default leaves it.
    [`/api/r?loc=${q(`${own}/other`)}`, `${own}/other`],
    // Not the upstream: left alone.
    [`/r?loc=${q('http://other.example/x')}`, 'http://other.example/x'],
    [`/r?loc=${q('/relative')}`, '/relative'],
    [`/r?loc=${q(`http://127.0.0.1:1${origin.port}/x`)}`, `http://127.0.0.1:1${origin.port}/x`],
  ];
  const got = [];
  for (const [path] of cases) got.push([path, await redirectOf(portico.url + path)]);
  assert.deepEqual(got, cases);
  // What the upstream was asked for, so the mapping back is the right one.
  assert.deepEqual(
    origin.requests.slice(2, 4).map((r) => r.target.split('?')[0]),
    ['/r', '/v1/r'],
  );
});

test('Refresh URLs are rewritten too; redirect_default: false passes both as sent; explicit rules come first', async (t) => {
  const origin = await redirectingOrigin();
  t.after(() => origin.close());
  const own = `http://${origin.address}`;
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/off/', proxy: { to: origin.address, redirect_default: false } },
          { path: '/explicit/', proxy: { to: origin.address, redirect: [{ from: `${own}/`, to: 'https://public.example/' }] } },
          { path: '/', proxy: { to: origin.address } },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  assert.equal(await redirectOf(`${portico.url}/r?refresh=${q(`0; URL=${own}/next/`)}`, 'refresh'), '0; URL=/next/');
  assert.equal(await redirectOf(`${portico.url}/r?refresh=${q('5')}`, 'refresh'), '5');
  assert.equal(await redirectOf(`${portico.url}/off/r?loc=${q(`${own}/next/`)}`), `${own}/next/`);
  assert.equal(await redirectOf(`${portico.url}/off/r?refresh=${q(`1;url=${own}/x`)}`, 'refresh'), `1;url=${own}/x`);
  assert.equal(await redirectOf(`${portico.url}/explicit/r?loc=${q(`${own}/next/`)}`), 'https://public.example/next/');
});

test('a pool: each server is recognised by its own address', async (t) => {
  const a = await redirectingOrigin();
  const b = await redirectingOrigin();
  t.after(() => Promise.all([a.close(), b.close()]));
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: [a.address, b.address] } }] }] });
  t.after(() => portico.close());
  // Round robin: a, then b; each names itself.
  const first = await redirectOf(`${portico.url}/r?loc=${q(`http://${a.address}/from-a`)}`);
  const second = await redirectOf(`${portico.url}/r?loc=${q(`http://${b.address}/from-b`)}`);
  assert.deepEqual([first, second, a.requests.length, b.requests.length], ['/from-a', '/from-b', 1, 1]);
});

test('side by side with nginx (proxy_redirect default, absolute_redirect off): the same Location and Refresh', async (t) => {
  const origin = await redirectingOrigin();
  t.after(() => origin.close());
  const own = `http://${origin.address}`;
  const port = await freePort();
  const prefix = await makePrefix({
    'nginx.conf': `events {}
http {
  ${TEMP_PATHS}
  access_log off;
  absolute_redirect off;
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass ${own}; }
    location /app/ { proxy_pass ${own}/; }
    location /api/ { proxy_pass ${own}/v1/; }
    location /off/ { proxy_pass ${own}; proxy_redirect off; }
  }
}
`,
  });
  t.after(() => prefix.remove());
  const nginx = await startNginx(prefix, port);
  t.after(() => nginx.close());
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/app/', proxy: { to: origin.address, path_prefix: '/' } },
          { path: '/api/', proxy: { to: origin.address, path_prefix: '/v1/' } },
          { path: '/off/', proxy: { to: origin.address, redirect_default: false } },
          { path: '/', proxy: { to: origin.address } },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  const paths = [
    `/r?loc=${q(`${own}/next/`)}`,
    `/app/r?loc=${q(`${own}/next/`)}`,
    `/api/r?loc=${q(`${own}/v1/next`)}`,
    `/api/r?loc=${q(`${own}/elsewhere`)}`,
    `/off/r?loc=${q(`${own}/next/`)}`,
    `/r?loc=${q('http://other.example/x')}`,
    `/r?refresh=${q(`3; url=${own}/next/`)}`,
  ];
  for (const path of paths) {
    const header = path.includes('refresh=') ? 'refresh' : 'location';
    const [theirs, ours] = [await redirectOf(`http://127.0.0.1:${port}${path}`, header), await redirectOf(portico.url + path, header)];
    assert.equal(ours, theirs, `${path}: nginx sends ${theirs}, Portico ${ours}`);
  }
});

test('nginx adapter: proxy_redirect off, or rules without `default`, turn the default off', () => {
  const adapt = (directives: string) => {
    const { config } = adaptNginx(`events {}\nhttp { server { listen 8080; location / { ${directives} proxy_pass http://127.0.0.1:8000; } } }\n`, 'nginx.conf', {
      prefix: '/srv/nginx',
    });
    const route = (config as { servers: { routes: { proxy?: Record<string, unknown> }[] }[] }).servers[0]!.routes.find((r) => r.proxy)!;
    return { redirect: route.proxy!.redirect, redirect_default: route.proxy!.redirect_default };
  };
  assert.deepEqual(adapt(''), { redirect: [{ from: 'http://127.0.0.1:8000/', to: '/' }], redirect_default: undefined });
  assert.deepEqual(adapt('proxy_redirect off;'), { redirect: undefined, redirect_default: false });
  assert.deepEqual(adapt('proxy_redirect http://a/ /b/;'), { redirect: [{ from: 'http://a/', to: '/b/' }], redirect_default: false });
  assert.deepEqual(adapt('proxy_redirect default; proxy_redirect http://a/ /b/;'), {
    redirect: [
      { from: 'http://127.0.0.1:8000/', to: '/' },
      { from: 'http://a/', to: '/b/' },
    ],
    redirect_default: undefined,
  });
});
