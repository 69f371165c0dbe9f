/**
 * Every config in the seed documents runs verbatim (test/fixtures/seeds/, copied byte for byte)
 * and does what its document says. The nginx ones also run in a real nginx, side by side, with
 * the same requests. Only what cannot exist on a test machine is substituted, each noted below:
 * listen ports (80/8080 -> a free port), upstream ports (8000/3000 -> echo upstreams on free
 * ports), seed 003's `<내부 IP>` (-> 127.0.0.1) and project directory (-> a temp dir).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile, readFile, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startUpstream, type SeenRequest } from '../helpers/upstream.js';
import { BUILTIN_FILES } from '../../src/config/adapters/nginx/builtin-files.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { AccessLog } from '../../src/log/access-log.js';
import { h1Request } from '../helpers/tls.js';
import { assertSame, echo, observe, type Case } from './differential.js';

const SEEDS = fileURLToPath(new URL('../../../test/fixtures/seeds/', import.meta.url));
const seed = (name: string) => readFileSync(join(SEEDS, name), 'utf8');
const noNginx = !haveNginx() && 'nginx is not installed';

/** Runs one seed in Portico (from `file`) and, when given, in nginx (a main nginx.conf including it). */
async function sideBySide(
  t: { after: (fn: () => unknown) => void },
  text: (port: number) => string,
  extra: Record<string, string> = {},
  opts: { accessLog?: AccessLog } = {},
) {
  const [nginxPort, porticoPort] = [await freePort(), await freePort()];
  const main = 'events {}\nhttp {\n    include temp_paths.conf;\n    include seed.conf;\n}\n';
  const nginxPrefix = await makePrefix({ 'nginx.conf': main, 'seed.conf': text(nginxPort), 'temp_paths.conf': TEMP_PATHS, ...extra });
  const porticoPrefix = await makePrefix({ 'seed.conf': text(porticoPort) });
  t.after(() => Promise.all([nginxPrefix.remove(), porticoPrefix.remove()]));
  const nginx = await startNginx(nginxPrefix, nginxPort);
  t.after(() => nginx.close());
  // The seed file on its own, as a bare server block (conf.d/sites-available style).
  const loaded = await loadConfigFile(join(porticoPrefix.dir, 'seed.conf'), { adapter: 'nginx', nginxPrefix: porticoPrefix.dir });
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: opts.accessLog ?? false });
  t.after(() => portico.close());
  return { nginxPort, porticoPort, loaded };
}

async function compare(ports: { nginxPort: number; porticoPort: number }, cases: Case[], seen: () => SeenRequest[]) {
  for (const [i, c] of cases.entries()) {
    const n = await observe(ports.nginxPort, c, `n-${c.name}-${i}`, seen);
    const p = await observe(ports.porticoPort, c, `p-${c.name}-${i}`, seen);
    assertSame(c, n, p);
  }
}

test('seed 000: upstream django_server with the four proxy_set_header lines', { skip: noNginx }, async (t) => {
  const django = await startUpstream(echo);
  t.after(() => django.close());
  const text = (port: number) =>
    seed('000-nginx.conf')
      .replace('server 127.0.0.1:8000;', `server 127.0.0.1:${django.port};`) // gunicorn's port -> the echo upstream's
      .replace('listen 80;', `listen 127.0.0.1:${port};`); // port 80 -> a free port
  const ports = await sideBySide(t, text);
  const host = 'quizai.juwonpark.me';
  await compare(ports, [{ name: 'root', path: '/', host }, { name: 'a page', path: '/quiz/3?lang=ko', host }, { name: 'a form', method: 'POST', path: '/login/', host, body: 'u=a&p=b' }], () => django.seen);
  // What the document promises Django: the original Host, client IP and scheme.
  const last = django.seen.find((s) => s.url === '/quiz/3?lang=ko')!;
  assert.equal(last.headers.host, host);
  assert.equal(last.headers['x-real-ip'], '127.0.0.1');
  assert.equal(last.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(last.headers['x-forwarded-proto'], 'http');
});

test("seed 001: /api/, /admin/, /blog/ to Django (:8000), everything else to the frontend (:3000)", { skip: noNginx }, async (t) => {
  const [django, frontend] = [await startUpstream(echo), await startUpstream(echo)];
  t.after(() => Promise.all([django.close(), frontend.close()]));
  const text = (port: number) =>
    seed('001-nginx.conf')
      .replace('listen 80;', `listen 127.0.0.1:${port};`) // port 80 -> a free port
      .replaceAll('localhost:8000', `localhost:${django.port}`) // Django's port -> an echo upstream
      .replaceAll('localhost:3000', `localhost:${frontend.port}`); // the frontend's port -> another
  const ports = await sideBySide(t, text);
  const toDjango = ['/api/users/', '/admin/', '/blog/7/', '/api/session/?next=/'];
  const toFrontend = ['/', '/index.html', '/static/app.js', '/apis', '/blog'];
  const cases: Case[] = [...toDjango, ...toFrontend].map((path) => ({ name: path, path, host: 'localhost:8080' }));
  cases.push({ name: '/admin without a slash', path: '/admin', host: 'localhost:8080' });
  await compare(ports, cases, () => [...django.seen, ...frontend.seen]);
  for (const path of toDjango) assert.ok(django.seen.some((s) => s.url === path && s.headers['x-case']?.toString().startsWith('p-')), `${path} reached Django`);
  for (const path of toFrontend.filter((p) => p !== '/blog')) assert.ok(frontend.seen.some((s) => s.url === path && s.headers['x-case']?.toString().startsWith('p-')), `${path} reached the frontend`);
  // No proxy_set_header: nginx sends the upstream's own name as Host, and the adapted config does too.
  assert.equal(django.seen.find((s) => s.url === '/admin/')!.headers.host, `localhost:${django.port}`);
});

test('seed 003: favicon without logs, /static/ from the project root, the rest to gunicorn with proxy_params', { skip: noNginx }, async (t) => {
  const gunicorn = await startUpstream(echo);
  t.after(() => gunicorn.close());
  const project = await mkdtemp(join(tmpdir(), 'portico-seed003-'));
  t.after(() => rm(project, { recursive: true, force: true }));
  await mkdir(join(project, 'static', 'css'), { recursive: true });
  await writeFile(join(project, 'static', 'css', 'site.css'), 'body { margin: 0 }\n');
  for (const d of [project, join(project, 'static'), join(project, 'static', 'css')]) await chmod(d, 0o755);
  const text = (port: number) =>
    seed('003-sites-available.conf')
      .replace('listen 80;', `listen 127.0.0.1:${port};`) // port 80 -> a free port
      .replace('<내부 IP>', '127.0.0.1') // the document's "internal IP" placeholder
      .replace('/home/web/myprojectdir', project) // the project directory -> a temp dir
      .replace('127.0.0.1:8000', `127.0.0.1:${gunicorn.port}`); // gunicorn's port -> the echo upstream's
  const logFile = join(project, 'access.log');
  const accessLog = new AccessLog({ format: 'combined', output: logFile });
  // nginx needs a proxy_params file; Portico uses its built-in copy of Debian's.
  const ports = await sideBySide(t, text, { proxy_params: BUILTIN_FILES.proxy_params! }, { accessLog });
  const host = '127.0.0.1';
  await compare(
    ports,
    [
      { name: 'favicon (none there)', path: '/favicon.ico', host },
      {
        name: 'a static file',
        path: '/static/css/site.css',
        host,
        differs: [{ field: 'header.content-type', nginx: 'text/plain', portico: 'text/css; charset=utf-8', why: "nginx has no mime.types here (the seed does not include it) so its default_type; Portico knows .css" }],
      },
      { name: 'Django', path: '/accounts/login/?next=/', host },
    ],
    () => gunicorn.seen,
  );
  const django = gunicorn.seen.find((s) => s.url === '/accounts/login/?next=/')!;
  assert.equal(django.headers.host, '127.0.0.1');
  assert.equal(django.headers['x-real-ip'], '127.0.0.1');
  assert.equal(django.headers['x-forwarded-proto'], 'http');
  // `access_log off` for the favicon: Portico logged the other two requests and not it.
  accessLog.flush();
  await new Promise((r) => setTimeout(r, 100));
  const lines = (await readFile(logFile, 'utf8')).trim().split('\n');
  assert.equal(lines.filter((l) => l.includes('/favicon.ico')).length, 0, lines.join('\n'));
  assert.equal(lines.filter((l) => l.includes('/static/css/site.css')).length, 1, lines.join('\n'));
});

test('seed 002: the Caddyfile with header_up X-Forwarded-Proto https, served over HTTPS by the local CA', async (t) => {
  const django = await startUpstream(echo);
  t.after(() => django.close());
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'portico-seed002-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'Caddyfile');
  await writeFile(
    file,
    seed('002-Caddyfile')
      .replace('localhost:8080', `localhost:${port}`) // the site's port 8080 -> a free port
      .replace('localhost:8000', `localhost:${django.port}`), // Django's port -> the echo upstream's
  );
  const loaded = await loadConfigFile(file);
  assert.equal(loaded.format, 'caddyfile');
  assert.deepEqual(loaded.warnings, []);
  assert.equal(loaded.config.log_level, 'debug'); // the global `debug` option
  // As Caddy does for localhost: HTTPS with certificates from a local CA (kept in a temp data dir here).
  assert.equal(loaded.config.servers[0]!.tls, 'auto');
  const data = join(dir, 'data');
  const portico = await startServer({ ...loaded.config, data_dir: data }, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());
  const root = await readFile(join(data, 'pki/authorities/local/root.crt'), 'utf8');
  const res = await h1Request(port, root, { path: '/admin/login/', headers: { 'x-case': 'seed002' } });
  assert.equal(res.status, 200);
  const seen = django.seen.find((s) => s.headers['x-case'] === 'seed002')!;
  // What the document wants Django to see: X-Forwarded-Proto https (for SECURE_PROXY_SSL_HEADER), Host as sent.
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers.host, `localhost:${port}`);
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.url, '/admin/login/');
});
