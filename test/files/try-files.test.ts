/**
 * try_files and fallback: an SPA served with index.html for client routes, directory
 * candidates, a final "=404"/"=410", and "static else app" falling back to a proxy upstream
 * (misses, other methods, WebSockets), with the upstream never asked for a file on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { http } from '../proxy/support.js';
import { startUpstream } from '../helpers/upstream.js';
import { makeSite, serveFiles } from './support.js';

test('SPA: files first, then directories with an index, then /index.html', async (t) => {
  const site = await makeSite();
  const portico = await serveFiles('/', { root: site.root, try_files: ['{path}', '$uri/', '/index.html'] });
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  const get = async (p: string) => {
    const r = await http(`${portico.url}${p}`);
    return [r.status, r.body.toString(), r.headers['content-type']] as const;
  };
  assert.deepEqual(await get('/hello.txt'), [200, 'hello, world\n', 'text/plain; charset=utf-8']);
  assert.deepEqual(await get('/dashboard/settings'), [200, '<h1>home</h1>\n', 'text/html; charset=utf-8']);
  assert.deepEqual(await get('/docs'), [200, '<h1>docs</h1>\n', 'text/html; charset=utf-8']); // no redirect in try_files
  assert.deepEqual(await get('/docs/'), [200, '<h1>docs</h1>\n', 'text/html; charset=utf-8']);
  assert.deepEqual(await get('/empty/'), [200, '<h1>home</h1>\n', 'text/html; charset=utf-8']); // no index: next candidate
  assert.deepEqual(await get('/'), [200, '<h1>home</h1>\n', 'text/html; charset=utf-8']);
  // Hidden files are not candidates either.
  assert.deepEqual(await get('/.env'), [404, '404 Not Found\n', 'text/plain; charset=utf-8']);
});

test('try_files under an alias: {path} is the path under the alias; a final =CODE', async (t) => {
  const site = await makeSite();
  const portico = await serveFiles('/app/', { alias: site.root, try_files: ['{path}', '/docs/index.html'] }, [
    { path: '/strict/', files: { alias: site.root, try_files: ['{path}', '{path}.txt', '=410'] } },
  ]);
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  const body = async (p: string) => (await http(`${portico.url}${p}`)).body.toString();
  assert.equal(await body('/app/hello.txt'), 'hello, world\n');
  assert.equal(await body('/app/some/route'), '<h1>docs</h1>\n');
  assert.equal(await body('/strict/hello'), 'hello, world\n');
  assert.equal((await http(`${portico.url}/strict/nothing`)).status, 410);
});

test('static else app: misses, other methods and WebSockets go to the proxy; files never do', async (t) => {
  const site = await makeSite();
  const app = await startUpstream();
  const portico = await serveFiles('/', { root: site.root, fallback: { proxy: { to: app.address } } });
  t.after(async () => {
    await portico.close();
    await app.close();
    await site.cleanup();
  });
  assert.equal((await http(`${portico.url}/hello.txt`)).body.toString(), 'hello, world\n');
  assert.equal((await http(`${portico.url}/`)).body.toString(), '<h1>home</h1>\n');
  assert.equal(app.seen.length, 0);

  const miss = await http(`${portico.url}/api/users?page=2`);
  assert.equal(miss.status, 200);
  assert.equal(JSON.parse(miss.body.toString()).url, '/api/users?page=2');
  const hidden = await http(`${portico.url}/.env`);
  assert.equal(JSON.parse(hidden.body.toString()).url, '/.env'); // not served from disk; the app decides
  const post = await http(`${portico.url}/hello.txt`, { method: 'POST', body: 'x=1' });
  assert.deepEqual(
    [JSON.parse(post.body.toString()).method, JSON.parse(post.body.toString()).bodyLength],
    ['POST', 3],
  );
  assert.deepEqual(
    app.seen.map((s) => `${s.method} ${s.url}`),
    ['GET /api/users?page=2', 'GET /.env', 'POST /hello.txt'],
  );
  // An Upgrade request is the app's too: the proxy tunnels it (the echo app answers it as plain HTTP).
  const socket = connect({ host: '127.0.0.1', port: portico.port });
  await once(socket, 'connect');
  socket.write('GET /ws/ HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  socket.on('error', () => {});
  const deadline = Date.now() + 5000;
  while (app.seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  socket.destroy();
  assert.equal(app.seen[3]?.url, '/ws/');
  // Tunnelled, not forwarded: a forwarded request would have lost its hop-by-hop Upgrade.
  assert.equal(app.seen[3]?.headers.upgrade, 'websocket');
});

test('try_files with a proxy fallback: the SPA candidates, then the app', async (t) => {
  const site = await makeSite();
  const app = await startUpstream();
  const portico = await serveFiles('/', { root: site.root, try_files: ['{path}', '{path}/'], fallback: { proxy: { to: app.address } } });
  t.after(async () => {
    await portico.close();
    await app.close();
    await site.cleanup();
  });
  assert.equal((await http(`${portico.url}/docs`)).body.toString(), '<h1>docs</h1>\n');
  assert.equal(JSON.parse((await http(`${portico.url}/admin/login/`)).body.toString()).url, '/admin/login/');
});
