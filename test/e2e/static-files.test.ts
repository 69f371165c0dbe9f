/**
 * Issue 4's deployment: Django never serves /static/ or /media/. Portico reads the
 * `collectstatic` output and MEDIA_ROOT from disk, and proxies everything else to Django under
 * gunicorn. The admin login page renders with its stylesheet and script from Portico (bytes
 * and headers checked), an uploaded file is served from /media/, and gunicorn's access log
 * shows it never saw a static or media request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareDjango, startGunicorn } from '../helpers/django.js';
import { startPortico } from '../helpers/portico.js';

test('Django admin through Portico: CSS and JS from the collectstatic folder, uploads from MEDIA_ROOT', async (t) => {
  const prepared = await prepareDjango();
  t.after(() => prepared.cleanup());
  const gunicorn = await startGunicorn(prepared);
  t.after(() => gunicorn.close());
  const staticRoot = prepared.env.PORTICO_E2E_STATIC_ROOT!;
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/static/', files: { alias: staticRoot, cache_control: 'public, max-age=3600' } },
          { path: '/media/', files: { alias: prepared.mediaRoot } },
          { path: '/', proxy: { to: gunicorn.address } },
        ],
      },
    ],
  });
  t.after(() => portico.close());

  // The login page comes from Django and links the admin's assets under /static/.
  const page = await fetch(`${portico.url}/admin/login/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('server') ?? '', /gunicorn/);
  const html = await page.text();
  const css = /href="(\/static\/admin\/css\/[^"]+\.css)"/.exec(html)?.[1];
  const js = /src="(\/static\/admin\/js\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(css, 'the login page links a stylesheet under /static/');

  const sheet = await fetch(`${portico.url}${css}`);
  assert.equal(sheet.status, 200);
  assert.equal(sheet.headers.get('content-type'), 'text/css; charset=utf-8');
  assert.equal(sheet.headers.get('server'), null, 'not from gunicorn');
  assert.equal(sheet.headers.get('cache-control'), 'public, max-age=3600');
  assert.ok(sheet.headers.get('etag'));
  assert.ok(sheet.headers.get('last-modified'));
  const onDisk = await readFile(join(staticRoot, css.slice('/static/'.length)));
  assert.deepEqual(Buffer.from(await sheet.arrayBuffer()), onDisk);
  assert.equal(sheet.headers.get('content-length'), String(onDisk.length));
  // A revalidation is answered 304 by Portico.
  const again = await fetch(`${portico.url}${css}`, { headers: { 'if-none-match': sheet.headers.get('etag')! } });
  assert.equal(again.status, 304);

  if (js) {
    const script = await fetch(`${portico.url}${js}`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /^(text|application)\/javascript; charset=utf-8$/);
    assert.deepEqual(Buffer.from(await script.arrayBuffer()), await readFile(join(staticRoot, js.slice('/static/'.length))));
  }

  await writeFile(join(prepared.mediaRoot, 'avatar.txt'), 'uploaded by a user\n');
  const media = await fetch(`${portico.url}/media/avatar.txt`);
  assert.equal(media.status, 200);
  assert.equal(await media.text(), 'uploaded by a user\n');
  assert.equal((await fetch(`${portico.url}/media/missing.txt`)).status, 404);

  assert.equal(gunicorn.requests('/static/'), 0, 'gunicorn served no static file');
  assert.equal(gunicorn.requests('/media/'), 0, 'gunicorn served no media file');
  assert.ok(gunicorn.requests('/admin/login/') >= 1);
});
