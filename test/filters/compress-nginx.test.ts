/**
 * Compression side by side with nginx: one nginx.conf with the gzip directives real configs
 * use, run by a real nginx and by Portico (through the nginx adapter), in front of the same
 * upstream. Every request goes to both; the client's view is compared: status, whether the
 * body was compressed (Content-Encoding), Vary, ETag, whether a Content-Length was sent, and
 * the body once decoded. Deliberate differences are listed per case, asserted exactly, with
 * the reason (docs/differences.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { rawRequest } from '../proxy/support.js';

const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(200);
const JSON_TEXT = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] })) });
const GZIPPED = zlib.gzipSync(TEXT);

function upstreamAnswer(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url!, 'http://x').pathname.replace(/^\/(l6|off|v10|any)\//, '/');
  const send = (status: number, headers: Record<string, string | number>, body: string | Buffer) => {
    res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  switch (path) {
    case '/json':
      return send(200, { 'Content-Type': 'application/json', ETag: '"j1"' }, JSON_TEXT);
    case '/html':
      return send(200, { 'Content-Type': 'text/html; charset=utf-8', 'Last-Modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }, TEXT);
    case '/css':
      return send(200, { 'Content-Type': 'text/css' }, TEXT);
    case '/plain':
      return send(200, { 'Content-Type': 'text/plain' }, TEXT);
    case '/png':
      return send(200, { 'Content-Type': 'image/png' }, TEXT);
    case '/small':
      return send(200, { 'Content-Type': 'application/json' }, '{"ok":true}');
    case '/encoded':
      return send(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' }, GZIPPED);
    case '/private':
      return send(200, { 'Content-Type': 'text/html', 'Cache-Control': 'private' }, TEXT);
    case '/max-age':
      return send(200, { 'Content-Type': 'text/html', 'Cache-Control': 'max-age=60' }, TEXT);
    case '/expired':
      return send(200, { 'Content-Type': 'text/html', Expires: 'Thu, 01 Jan 1970 00:00:01 GMT' }, TEXT);
    case '/vary':
      return send(200, { 'Content-Type': 'text/html', Vary: 'Cookie' }, TEXT);
    case '/no-transform':
      return send(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-transform' }, TEXT);
    case '/error':
      return send(500, { 'Content-Type': 'text/html' }, TEXT);
    case '/missing':
      return send(404, { 'Content-Type': 'text/html' }, TEXT);
    case '/chunked':
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.write(TEXT.slice(0, 1000));
      return void setTimeout(() => res.end(TEXT.slice(1000)), 5);
    default:
      return send(404, { 'Content-Type': 'text/plain' }, 'no such path\n');
  }
}

const CONFIG = (port: number, upstream: number) => `
events {}
http {
    include temp_paths.conf;
    access_log off;
    gzip on;
    gzip_vary on;
    gzip_types application/json text/css;
    gzip_min_length 100;
    gzip_proxied expired no-cache no-store private auth;
    gzip_disable msie6;
    server {
        listen 127.0.0.1:${port};
        location / { proxy_pass http://127.0.0.1:${upstream}; }
        location /l6/ { gzip_comp_level 6; proxy_pass http://127.0.0.1:${upstream}; }
        location /off/ { gzip off; proxy_pass http://127.0.0.1:${upstream}; }
        location /v10/ { gzip_http_version 1.0; proxy_pass http://127.0.0.1:${upstream}; }
        location /any/ { gzip_proxied any; gzip_types *; proxy_pass http://127.0.0.1:${upstream}; }
        location /static/ { root files; }
    }
}
`;

interface Case {
  name: string;
  path: string;
  method?: string;
  version?: '1.0' | '1.1';
  headers?: [string, string][];
  /** Deliberate differences: field -> [nginx, portico, why]. */
  differs?: Record<string, [string | undefined, string | undefined, string]>;
}

const GZIP: [string, string] = ['Accept-Encoding', 'gzip, deflate'];
const VIA: [string, string] = ['Via', '1.1 cdn.example'];

const CASES: Case[] = [
  { name: 'JSON, gzip accepted', path: '/json', headers: [GZIP] },
  { name: 'JSON, no Accept-Encoding', path: '/json' },
  { name: 'JSON, br only', path: '/json', headers: [['Accept-Encoding', 'br']] },
  { name: 'JSON, gzip;q=0', path: '/json', headers: [['Accept-Encoding', 'gzip;q=0, deflate']] },
  { name: 'text/html (always in gzip_types), with Last-Modified', path: '/html', headers: [GZIP] },
  { name: 'text/css listed', path: '/css', headers: [GZIP] },
  { name: 'text/plain not listed', path: '/plain', headers: [GZIP] },
  { name: 'image/png not listed', path: '/png', headers: [GZIP] },
  { name: 'below gzip_min_length', path: '/small', headers: [GZIP] },
  { name: 'Content-Encoding already set', path: '/encoded', headers: [GZIP] },
  {
    name: 'Vary of the app merged',
    path: '/vary',
    headers: [GZIP],
    differs: { vary: ['Accept-Encoding, Cookie', 'Cookie, Accept-Encoding', 'nginx adds a Vary field of its own before the app\'s; Portico adds to the app\'s field (the same meaning)'] },
  },
  { name: 'a 404 page', path: '/missing', headers: [GZIP] },
  {
    name: 'Cache-Control: no-transform',
    path: '/no-transform',
    headers: [GZIP],
    differs: {
      encoding: ['gzip', undefined, 'Portico honours no-transform (RFC 9110 §7.7); nginx compresses anyway'],
      vary: ['Accept-Encoding', undefined, 'the same choice'],
      length: ['no', 'yes', 'the same choice'],
    },
  },
  {
    name: 'a 500 page',
    path: '/error',
    headers: [GZIP],
    differs: {
      encoding: [undefined, 'gzip', 'nginx compresses 200, 403 and 404 only; Portico any status with a body but 206'],
      vary: [undefined, 'Accept-Encoding', 'the same choice'],
      length: ['yes', 'no', 'the same choice'],
    },
  },
  { name: 'no length from the app (chunked)', path: '/chunked', headers: [GZIP] },
  { name: 'gzip_comp_level 6', path: '/l6/json', headers: [GZIP] },
  { name: 'gzip off in the location', path: '/off/json', headers: [GZIP] },
  { name: 'HEAD', path: '/json', method: 'HEAD', headers: [GZIP] },
  { name: 'HTTP/1.0 under gzip_http_version 1.1', path: '/json', version: '1.0', headers: [GZIP] },
  { name: 'HTTP/1.0 under gzip_http_version 1.0', path: '/v10/json', version: '1.0', headers: [GZIP] },
  { name: 'gzip_disable msie6', path: '/json', headers: [GZIP, ['User-Agent', 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)']] },
  { name: 'MSIE 8 is not msie6', path: '/json', headers: [GZIP, ['User-Agent', 'Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)']] },
  { name: 'Via, gzip_proxied without any: no Cache-Control', path: '/json', headers: [GZIP, VIA] },
  { name: 'Via, Cache-Control: private', path: '/private', headers: [GZIP, VIA] },
  { name: 'Via, Cache-Control: max-age', path: '/max-age', headers: [GZIP, VIA] },
  { name: 'Via, Expires in the past', path: '/expired', headers: [GZIP, VIA] },
  { name: 'Via, Authorization (auth)', path: '/json', headers: [GZIP, VIA, ['Authorization', 'Basic dTpw']] },
  { name: 'Via, gzip_proxied any, gzip_types *', path: '/any/png', headers: [GZIP, VIA] },
  { name: 'static file, text/html', path: '/static/page.html', headers: [GZIP] },
  { name: 'static file, not listed', path: '/static/notes.txt', headers: [GZIP] },
  {
    name: 'static file, Range',
    path: '/static/page.html',
    headers: [GZIP, ['Range', 'bytes=0-99']],
    differs: {
      status: ['200', '206', 'nginx compresses and drops the range (gzip runs before its range filter); Portico serves the 206 of the plain bytes'],
      encoding: ['gzip', undefined, 'the same choice'],
      body: [undefined, undefined, 'a different body by that choice'],
      length: ['no', 'yes', 'the same choice'],
      vary: ['Accept-Encoding', undefined, 'the same choice'],
      etag: ['W/"tag"', '"tag"', 'the same choice: the plain bytes keep the strong tag'],
    },
  },
];

interface View {
  status: string;
  encoding: string | undefined;
  vary: string | undefined;
  etag: string | undefined;
  length: string;
  body: string;
}

async function view(port: number, c: Case): Promise<View> {
  const lines = [`${c.method ?? 'GET'} ${c.path} HTTP/${c.version ?? '1.1'}`, 'Host: example.test', 'Connection: close'];
  for (const [n, v] of c.headers ?? []) lines.push(`${n}: ${v}`);
  const res = await rawRequest(port, `${lines.join('\r\n')}\r\n\r\n`, { head: c.method === 'HEAD' });
  const h = (name: string) => {
    const values = res.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
    return values.length === 0 ? undefined : values.join(', ');
  };
  const encoding = h('content-encoding');
  let body = res.body;
  if (encoding === 'gzip' && c.method !== 'HEAD') body = zlib.gunzipSync(body);
  // nginx's weak tag and Portico's are the same form (W/"..."); files' tags differ in format.
  const etag = h('etag');
  return {
    status: String(res.status),
    encoding,
    vary: h('vary'),
    etag: c.path.startsWith('/static/') ? etag?.replace(/"[^"]*"/, '"tag"') : etag,
    length: h('content-length') === undefined ? 'no' : 'yes',
    body: body.toString('latin1'),
  };
}

test('compression side by side with nginx: the same nginx.conf, the same answers', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const upstream = await startUpstream((req, res) => upstreamAnswer(req, res));
  t.after(() => upstream.close());
  const [nginxPort, porticoPort] = [await freePort(), await freePort()];
  const files = (port: number) => ({
    'nginx.conf': CONFIG(port, upstream.port),
    'temp_paths.conf': TEMP_PATHS,
    'files/static/page.html': TEXT,
    'files/static/notes.txt': TEXT,
  });
  const nginxPrefix = await makePrefix({ ...files(nginxPort) });
  const porticoPrefix = await makePrefix(files(porticoPort));
  t.after(() => Promise.all([nginxPrefix.remove(), porticoPrefix.remove()]));
  const nginx = await startNginx(nginxPrefix, nginxPort);
  t.after(() => nginx.close());
  const loaded = await loadConfigFile(porticoPrefix.conf, { nginxPrefix: porticoPrefix.dir });
  assert.deepEqual(loaded.warnings, []);
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());

  for (const c of CASES) {
    await t.test(c.name, async () => {
      const n = await view(nginxPort, c);
      const p = await view(porticoPort, c);
      for (const [field, [nv, pv]] of Object.entries(c.differs ?? {})) {
        if (field !== 'body') {
          assert.equal(n[field as keyof View], nv, `${c.name}: nginx's ${field}`);
          assert.equal(p[field as keyof View], pv, `${c.name}: Portico's ${field}`);
        }
        delete (n as unknown as Record<string, unknown>)[field];
        delete (p as unknown as Record<string, unknown>)[field];
      }
      assert.deepEqual(p, n, c.name);
    });
  }
});
