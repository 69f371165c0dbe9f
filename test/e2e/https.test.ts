/**
 * End to end over HTTPS: headless Chromium whose only extra trust anchor is Portico's local
 * root CA (imported into a fresh NSS database, as `portico trust` tells users to do) loads
 * https://localhost:PORT/ over HTTP/2 with no certificate error, and a real Django under
 * gunicorn behind it sees a secure request: request.is_secure() through
 * SECURE_PROXY_SSL_HEADER, a Secure session cookie, a CSRF-protected POST accepted with
 * CSRF_TRUSTED_ORIGINS set to the https origin. Plain http:// redirects to https://.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request as httpRequest } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { freePort, startDjango, type TestDjango } from '../helpers/django.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startPortico, proxyTo, type TestPortico } from '../helpers/portico.js';
import { h1Request } from '../helpers/tls.js';

const FRONTEND_HTML = fileURLToPath(new URL('../../../test/fixtures/frontend/index.html', import.meta.url));
const CHROMIUM = process.env.PORTICO_E2E_CHROMIUM ?? '/usr/bin/chromium';

let work = '';
let django: TestDjango | undefined;
let frontend: TestUpstream | undefined;
let portico: TestPortico | undefined;
let tlsPort = 0;
let httpPort = 0;
let origin = '';
let rootPath = '';

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'portico-https-e2e-'));
  tlsPort = await freePort();
  httpPort = await freePort();
  origin = `https://localhost:${tlsPort}`;
  const html = await readFile(FRONTEND_HTML);
  django = await startDjango({ httpsOrigins: [origin] });
  frontend = await startUpstream((req, res) => {
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'X-Served-By': 'frontend' });
      res.end(html);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('frontend: not found\n');
    }
  });
  portico = await startPortico({
    data_dir: join(work, 'data'),
    servers: [
      {
        listen: [`127.0.0.1:${tlsPort}`],
        tls: 'internal',
        http_redirect: `127.0.0.1:${httpPort}`,
        routes: [
          { path: '/api/', ...proxyTo(django.address) },
          { path: '/admin/', ...proxyTo(django.address) },
          { path: '/static/', ...proxyTo(django.address) },
          { path: '/', ...proxyTo(frontend.address) },
        ],
      },
    ],
  });
  rootPath = join(work, 'data', 'pki', 'authorities', 'local', 'root.crt');
});

after(async () => {
  await portico?.close();
  await frontend?.close();
  await django?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A fresh $HOME whose NSS database (what Chromium on Linux trusts besides its built-in roots) holds only `roots`. */
async function browserHome(name: string, roots: string[]): Promise<string> {
  const home = join(work, name);
  const db = join(home, '.pki', 'nssdb');
  await mkdir(db, { recursive: true });
  const certutil = (args: string[]) => {
    const r = spawnSync('certutil', args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `certutil ${args.join(' ')}: ${r.stderr}${r.error ?? ''}`);
  };
  certutil(['-N', '-d', `sql:${db}`, '--empty-password']);
  for (const root of roots) certutil(['-A', '-d', `sql:${db}`, '-t', 'C,,', '-n', 'Portico Local CA', '-i', root]);
  return home;
}

async function launch(home: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, HOME: home },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

test('without Portico\'s root in its trust store, Chromium refuses the certificate', async (t) => {
  const browser = await launch(await browserHome('untrusting', []));
  t.after(() => browser.close());
  const page = await browser.newPage();
  await assert.rejects(page.goto(`${origin}/`), /ERR_CERT_AUTHORITY_INVALID/);
});

test('Chromium trusting only Portico\'s root loads the page over HTTP/2 and logs in to Django over HTTPS', async (t) => {
  const d = django!;
  const browser = await launch(await browserHome('trusting', [rootPath]));
  t.after(() => browser.close());
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));

  const nav = await page.goto(`${origin}/`);
  assert.ok(nav);
  assert.equal(nav.status(), 200);
  assert.equal(await nav.headerValue('x-served-by'), 'frontend');
  const security = await nav.securityDetails();
  assert.ok(security, 'a TLS connection');
  assert.match(security.issuer ?? '', /Portico Local CA/);
  const protocol = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol);
  assert.equal(protocol, 'h2');

  await page.fill('#username', d.username);
  await page.fill('#password', d.password);
  await page.click('#run');
  await page.waitForSelector('#result[data-done="true"]');
  const result = JSON.parse((await page.textContent('#result'))!);
  assert.equal(result.error, undefined, result.error);
  assert.equal(result.origin, origin);
  assert.equal(result.login.status, 200, JSON.stringify(result.login));
  assert.deepEqual(result.login.body, { user: { username: d.username, is_staff: true } });
  // The CSRF-protected POST from the page passes (Django checks the https Referer/Origin).
  assert.equal(result.echo.status, 200, JSON.stringify(result.echo));
  assert.deepEqual(result.echo.body.data, { message: 'hello from the page', n: 42 });
  assert.equal(result.whoami.body.isSecure, true, 'request.is_secure() through SECURE_PROXY_SSL_HEADER');
  assert.equal(result.whoami.body.HTTP_X_FORWARDED_PROTO, 'https');
  assert.equal(result.whoami.body.host, `localhost:${tlsPort}`);

  const cookies = await context.cookies(origin);
  const session = cookies.find((c) => c.name === 'sessionid');
  assert.ok(session, JSON.stringify(cookies));
  assert.equal(session.secure, true, 'the session cookie is Secure');
  assert.equal(session.httpOnly, true);
  assert.equal(cookies.find((c) => c.name === 'csrftoken')?.secure, true);
  assert.deepEqual(failed.filter((f) => !f.includes('/favicon.ico')), []);

  // http:// on the redirect port lands on the https page.
  const redirected = await page.goto(`http://localhost:${httpPort}/`);
  assert.ok(redirected);
  assert.equal(page.url(), `${origin}/`);
  assert.equal(redirected.status(), 200);
});

test('Django over HTTPS from a plain client: is_secure, Secure cookie on login, CSRF POST with the https Referer', async () => {
  const root = await readFile(rootPath, 'utf8');
  const whoami = await h1Request(tlsPort, root, { path: '/api/whoami/' });
  assert.equal(whoami.status, 200);
  assert.equal(JSON.parse(whoami.body).isSecure, true);

  const csrf = await h1Request(tlsPort, root, { path: '/api/csrf/' });
  const csrfCookie = csrf.headers.find(([n, v]) => n === 'set-cookie' && v.startsWith('csrftoken='))![1];
  assert.match(csrfCookie, /;\s*Secure/i);
  const token = /^csrftoken=([^;]+)/.exec(csrfCookie)![1]!;
  const post = (referer: string) =>
    h1Request(tlsPort, root, {
      method: 'POST',
      path: '/api/login/',
      headers: { cookie: `csrftoken=${token}`, 'x-csrftoken': token, 'content-type': 'application/json', referer, origin: new URL(referer).origin },
      body: JSON.stringify({ username: django!.username, password: django!.password }),
    });
  const foreign = await post('https://evil.example/');
  assert.equal(foreign.status, 403, 'a cross-origin Referer is refused: Django does check');
  const login = await post(`${origin}/`);
  assert.equal(login.status, 200, login.body);
  const sessionCookie = login.headers.find(([n, v]) => n === 'set-cookie' && v.startsWith('sessionid='));
  assert.ok(sessionCookie);
  assert.match(sessionCookie[1], /;\s*Secure/i);
});

test('plain HTTP redirects to HTTPS with 308, for GET and POST alike', async () => {
  for (const method of ['GET', 'POST']) {
    const res = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: httpPort, method, path: '/api/me/?x=1', headers: { host: `localhost:${httpPort}` }, agent: false }, (r) => {
        r.resume();
        resolve({ status: r.statusCode!, location: r.headers.location });
      });
      req.on('error', reject);
      req.end(method === 'POST' ? 'a=1' : undefined);
    });
    assert.equal(res.status, 308, method);
    assert.equal(res.location, `https://localhost:${tlsPort}/api/me/?x=1`);
  }
});
