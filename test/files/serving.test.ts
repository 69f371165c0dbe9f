/**
 * Serving files over real sockets: headers of a 200, HEAD, 405, index files and the
 * directory redirect, hidden files, symlinks, alias mapping (prefix and regex), cache
 * headers, response_headers, relative roots, and listings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { http, one, rawRequest, type HttpResult } from '../proxy/support.js';
import { startServer } from '../../src/server/server.js';
import { validateConfig } from '../../src/config/load.js';
import { silentLog } from '../../src/log/error-log.js';
import { makeSite, rawGet, serveFiles, type Site } from './support.js';
import type { TestContext } from 'node:test';

async function siteWith(t: TestContext, files: Record<string, unknown>, path = '/', extra: unknown[] = []) {
  const site = await makeSite();
  const portico = await serveFiles(path, { root: site.root, ...files }, extra);
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  const get = (p: string, headers: Record<string, string> = {}, method = 'GET') => http(`${portico.url}${p}`, { method, headers });
  return { site, portico, get };
}

const text = (r: HttpResult) => r.body.toString();

test('a 200: body, Content-Type with charset, Content-Length, Last-Modified, ETag, Accept-Ranges', async (t) => {
  const { site, get } = await siteWith(t, {});
  const res = await get('/hello.txt');
  assert.equal(res.status, 200);
  assert.equal(text(res), 'hello, world\n');
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(res.headers['content-length'], '13');
  assert.equal(res.headers['accept-ranges'], 'bytes');
  const s = await stat(join(site.root, 'hello.txt'));
  assert.equal(res.headers['etag'], `"${Math.floor(s.mtimeMs).toString(16)}-d"`);
  assert.equal(res.headers['last-modified'], new Date(Math.floor(s.mtimeMs / 1000) * 1000).toUTCString());
  assert.equal(res.headers['vary'], undefined);
  assert.equal((await get('/data.json')).headers['content-type'], 'application/json; charset=utf-8');
  assert.equal((await get('/app.js')).headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await get('/unknown.zzz')).headers['content-type'], 'application/octet-stream');
  assert.equal((await get('/index.html')).headers['content-type'], 'text/html; charset=utf-8');
});

test('HEAD: the same headers, no body; other methods: 405 with Allow', async (t) => {
  const { portico, get } = await siteWith(t, {});
  const head = await rawRequest(portico.port, 'HEAD /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { head: true });
  assert.equal(head.status, 200);
  assert.equal(one(head, 'content-length'), '13');
  assert.ok(one(head, 'etag'));
  // Nothing follows the head on the wire.
  assert.ok(head.raw.toString('latin1').endsWith('\r\n\r\n'));
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const res = await get('/hello.txt', {}, method);
    assert.equal(res.status, 405, method);
    assert.equal(res.headers['allow'], 'GET, HEAD');
  }
});

test('directories: index file at "/", 301 to the slash form (query kept), 404 without index, etag off', async (t) => {
  const { get } = await siteWith(t, { etag: false });
  const home = await get('/');
  assert.equal(text(home), '<h1>home</h1>\n');
  assert.equal(home.headers['etag'], undefined);
  assert.equal(text(await get('/docs/')), '<h1>docs</h1>\n');
  const redirect = await get('/docs?tab=1');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers['location'], '/docs/?tab=1');
  assert.equal((await get('/empty/')).status, 404);
  assert.equal((await get('/hello.txt/')).status, 404);
  assert.equal((await get('/missing.txt')).status, 404);
});

test('custom index list: tried in order', async (t) => {
  const { site, get } = await siteWith(t, { index: ['default.htm', 'index.html'] });
  assert.equal(text(await get('/')), '<h1>home</h1>\n');
  await writeFile(join(site.root, 'default.htm'), 'default');
  // A new file: the cache has not seen this path, so it is read at once.
  assert.equal(text(await get('/docs/')), '<h1>docs</h1>\n');
});

test('hidden files: 404 by default, .well-known served, hidden: true serves them', async (t) => {
  const { get } = await siteWith(t, {});
  assert.equal((await get('/.env')).status, 404);
  assert.equal((await get('/.git/config')).status, 404);
  assert.equal(text(await get('/.well-known/acme.txt')), 'challenge-token\n');
  const site2 = await siteWith(t, { hidden: true });
  assert.equal((await site2.get('/.env')).status, 200);
});

test('symlinks: inside the root followed, leaving it 403 unless follow_symlinks_outside', async (t) => {
  const { get } = await siteWith(t, {});
  assert.equal(text(await get('/link-in')), 'hello, world\n');
  assert.equal((await get('/link-out')).status, 403);
  assert.equal((await get('/dir-out/secret.txt')).status, 403);
  const loose = await siteWith(t, { follow_symlinks_outside: true });
  assert.equal(text(await loose.get('/link-out')), 'TOP-SECRET-OUTSIDE-THE-ROOT');
});

test('alias: the prefix is replaced (with and without a trailing slash, exact route, regex route with captures)', async (t) => {
  const site = await makeSite();
  const portico = await serveFiles('/static/', { alias: site.root }, [
    { path: '/media', files: { alias: site.root + '/docs' } },
    { path: '= /favicon.ico', files: { alias: join(site.root, 'hello.txt') } },
    { path: '~ ^/img/(\\w+)/(.+)$', files: { alias: site.root + '/{re.1}/{re.2}' } },
    { path: '~ ^/pic(.*)$', files: { alias: site.root + '/{re.1}' } },
  ]);
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  const get = (p: string) => http(`${portico.url}${p}`);
  assert.equal(text(await get('/static/hello.txt')), 'hello, world\n');
  assert.equal(text(await get('/static/')), '<h1>home</h1>\n');
  assert.equal(text(await get('/media/')), '<h1>docs</h1>\n');
  assert.equal(text(await get('/media/index.html')), '<h1>docs</h1>\n');
  assert.equal((await get('/media')).headers['location'], '/media/');
  assert.equal((await get('/mediax')).status, 404);
  assert.equal(text(await get('/favicon.ico')), 'hello, world\n');
  assert.equal(text(await get('/img/docs/index.html')), '<h1>docs</h1>\n');
  // A capture cannot smuggle a dot segment into the file path.
  assert.equal(text(await get('/pic/hello.txt')), 'hello, world\n');
  for (const path of ['/pic..', '/pic../secret.txt', '/pic.%2e/secret.txt']) {
    const res = await get(path);
    assert.equal(res.status, 400, path);
    assert.ok(!text(res).includes('TOP-SECRET'));
  }
});

test('cache_control and expires on 200 and 304, response_headers applied', async (t) => {
  const site = await makeSite();
  const portico = await serveFiles('/assets/', { alias: site.root, cache_control: 'public, max-age=31536000, immutable' }, [
    { path: '/short/', files: { alias: site.root, expires: '1h' } },
    { path: '/max/', files: { alias: site.root, expires: 'max' } },
    { path: '/', files: { root: site.root }, response_headers: { set: { 'X-Frame-Options': 'DENY' }, remove: ['Last-Modified'] } },
  ]);
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  const get = (p: string, headers: Record<string, string> = {}) => http(`${portico.url}${p}`, { headers });
  const a = await get('/assets/hello.txt');
  assert.equal(a.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(a.headers['expires'], undefined);
  const again = await get('/assets/hello.txt', { 'If-None-Match': String(a.headers['etag']) });
  assert.equal(again.status, 304);
  assert.equal(again.headers['cache-control'], 'public, max-age=31536000, immutable');
  const short = await get('/short/hello.txt');
  assert.equal(short.headers['cache-control'], 'max-age=3600');
  const expires = Date.parse(String(short.headers['expires']));
  const date = Date.parse(String(short.headers['date']));
  assert.ok(Math.abs(expires - date - 3_600_000) <= 2000, `Expires ${short.headers['expires']} vs Date ${short.headers['date']}`);
  const max = await get('/max/hello.txt');
  assert.equal(max.headers['cache-control'], 'max-age=315360000');
  assert.equal(max.headers['expires'], 'Thu, 31 Dec 2037 23:55:55 GMT');
  const plain = await get('/hello.txt');
  assert.equal(plain.headers['cache-control'], undefined);
  assert.equal(plain.headers['x-frame-options'], 'DENY');
  assert.equal(plain.headers['last-modified'], undefined);
  assert.equal((await get('/nope')).headers['x-frame-options'], 'DENY');
});

test('a relative root resolves against the config file\'s directory', async (t) => {
  const site = await makeSite();
  t.after(() => site.cleanup());
  const config = validateConfig({ access_log: false, servers: [{ listen: '127.0.0.1:0', routes: [{ path: '/', files: { root: './site' } }] }] }, 'x');
  const server = await startServer(config, { file: join(site.tmp, 'portico.yaml'), errorLog: silentLog() });
  t.after(() => server.close());
  const res = await http(`http://127.0.0.1:${server.addresses[0]!.port}/hello.txt`);
  assert.equal(text(res), 'hello, world\n');
});

test('listings: off by default; HTML with escaped names; JSON; hidden entries and escaping symlinks left out', async (t) => {
  const site: Site = await makeSite();
  await mkdir(join(site.root, 'list'));
  await writeFile(join(site.root, 'list', '<img src=x onerror=alert(1)>.txt'), 'x');
  await writeFile(join(site.root, 'list', 'a b.txt'), 'ab');
  await writeFile(join(site.root, 'list', '.secret'), 's');
  await mkdir(join(site.root, 'list', 'sub'));
  const { symlink } = await import('node:fs/promises');
  await symlink('../../secret.txt', join(site.root, 'list', 'out'));
  const off = await serveFiles('/', { root: site.root });
  const html = await serveFiles('/', { root: site.root, browse: 'html' });
  const json = await serveFiles('/', { root: site.root, browse: true });
  t.after(async () => {
    await Promise.all([off.close(), html.close(), json.close()]);
    await site.cleanup();
  });
  assert.equal((await http(`${off.url}/list/`)).status, 404);

  const page = await http(`${html.url}/list/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  const body = text(page);
  assert.ok(!body.includes('<img'), 'a name became markup');
  assert.ok(body.includes('&lt;img src=x onerror=alert(1)&gt;.txt'));
  assert.ok(body.includes('href="./a%20b.txt"'));
  assert.ok(body.includes('href="./sub/"'));
  assert.ok(!body.includes('.secret'));
  assert.ok(!body.includes('>out<'));
  // With an index file the index wins.
  assert.equal(text(await http(`${html.url}/docs/`)), '<h1>docs</h1>\n');

  const listed = await http(`${json.url}/list/`, { headers: { Accept: 'application/json' } });
  assert.equal(listed.headers['content-type'], 'application/json; charset=utf-8');
  const entries = JSON.parse(text(listed)) as { name: string; is_dir: boolean; size: number; url: string }[];
  assert.deepEqual(
    entries.map((e) => [e.name, e.is_dir, e.size]),
    [
      ['<img src=x onerror=alert(1)>.txt', false, 1],
      ['a b.txt', false, 2],
      ['sub', true, 0],
    ],
  );
  assert.equal((await http(`${json.url}/list/`)).headers['content-type'], 'text/html; charset=utf-8');
});
