/**
 * End to end: a real Django under a real gunicorn and a frontend server, both behind Portico
 * on one origin, driven by node's fetch and by headless Chromium.
 *
 * Portico sends /api/, /admin/, /static/ and /media/ to gunicorn and everything else to the
 * frontend; the page's relative fetch() calls reach Django on the page's own origin, so
 * Django's session cookie and CSRF work with no CORS at all.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { chromium, type Request as PwRequest, type Response as PwResponse } from 'playwright-core';
import { startDjango, writeMedia, type TestDjango } from '../helpers/django.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startPortico, proxyTo, type TestPortico } from '../helpers/portico.js';

const FRONTEND_HTML = fileURLToPath(new URL('../../../test/fixtures/frontend/index.html', import.meta.url));
const CHROMIUM = process.env.PORTICO_E2E_CHROMIUM ?? '/usr/bin/chromium';

let django: TestDjango | undefined;
let frontend: TestUpstream | undefined;
let portico: TestPortico | undefined;
/** http://localhost:<portico port> — what a browser would use. */
let origin = '';

before(async () => {
  const html = await readFile(FRONTEND_HTML);
  django = await startDjango();
  frontend = await startUpstream((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'X-Served-By': 'frontend' });
      res.end(html);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain', 'X-Served-By': 'frontend' });
      res.end('frontend: not found\n');
    }
  });
  portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/api/', ...proxyTo(django.address) },
          { path: '/admin/', ...proxyTo(django.address) },
          { path: '/static/', ...proxyTo(django.address) },
          { path: '/media/', ...proxyTo(django.address) },
          { path: '/', ...proxyTo(frontend.address) },
        ],
      },
    ],
  });
  origin = `http://localhost:${portico.port}`;
});

after(async () => {
  await portico?.close();
  await frontend?.close();
  await django?.close();
});

/** A cookie jar for one client, by hand: name -> value, plus every Set-Cookie line seen. */
class Jar {
  readonly values = new Map<string, string>();
  readonly lines: string[] = [];

  store(res: Response): string[] {
    const lines = res.headers.getSetCookie();
    for (const line of lines) {
      this.lines.push(line);
      const pair = line.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0\b/i.test(line)) this.values.delete(name);
      else this.values.set(name, value);
    }
    return lines;
  }

  header(): string {
    return [...this.values].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }
}

interface Call {
  res: Response;
  status: number;
  body: any;
  text: string;
  setCookies: string[];
}

async function call(jar: Jar, method: string, path: string, init: { headers?: Record<string, string>; body?: string; base?: string } = {}): Promise<Call> {
  const headers: Record<string, string> = { ...init.headers };
  const cookie = jar.header();
  if (cookie !== '') headers.cookie = cookie;
  const res = await fetch(`${init.base ?? origin}${path}`, { method, headers, body: init.body, redirect: 'manual' });
  const text = await res.text();
  const setCookies = jar.store(res);
  let body: any = text;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) body = JSON.parse(text);
  return { res, status: res.status, body, text, setCookies };
}

/** Polls a condition with a bounded deadline (no fixed sleeps). */
async function until(cond: () => boolean, what: string, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function cookieLine(lines: string[], name: string): string | undefined {
  return lines.find((l) => l.startsWith(`${name}=`));
}

test('login through Portico with CSRF: the session cookie comes back and identifies the user', async () => {
  const jar = new Jar();
  const d = django!;

  const anon = await call(jar, 'GET', '/api/me/');
  assert.equal(anon.status, 200);
  assert.equal(anon.res.headers.get('server'), 'gunicorn', 'served by gunicorn through Portico');
  assert.deepEqual(anon.body, { user: null });

  const csrf = await call(jar, 'GET', '/api/csrf/');
  assert.equal(csrf.status, 200);
  const csrfLine = cookieLine(csrf.setCookies, 'csrftoken');
  assert.ok(csrfLine, `csrftoken cookie set: ${csrf.setCookies.join(' | ')}`);
  assert.match(csrfLine, /;\s*Path=\//);
  assert.doesNotMatch(csrfLine, /Domain=/i, 'host-only cookie: it belongs to the Portico origin');
  assert.equal(typeof csrf.body.csrfToken, 'string');
  assert.ok(csrf.body.csrfToken.length >= 32);
  const token = jar.get('csrftoken')!;

  const wrong = await call(jar, 'POST', '/api/login/', {
    headers: { 'content-type': 'application/json', 'x-csrftoken': token },
    body: JSON.stringify({ username: d.username, password: 'not the password' }),
  });
  assert.equal(wrong.status, 401, wrong.text);
  assert.deepEqual(wrong.body, { error: 'invalid credentials' });
  assert.equal(jar.get('sessionid'), undefined);

  const login = await call(jar, 'POST', '/api/login/', {
    headers: { 'content-type': 'application/json', 'x-csrftoken': token },
    body: JSON.stringify({ username: d.username, password: d.password }),
  });
  assert.equal(login.status, 200, login.text);
  assert.deepEqual(login.body, { user: { username: d.username, is_staff: true } });
  // Two Set-Cookie headers in one response (Django rotates the CSRF token on login): both arrive.
  const sessionLine = cookieLine(login.setCookies, 'sessionid');
  assert.ok(sessionLine, `sessionid cookie set: ${login.setCookies.join(' | ')}`);
  assert.match(sessionLine, /;\s*HttpOnly/i);
  assert.match(sessionLine, /;\s*Path=\//);
  assert.doesNotMatch(sessionLine, /Domain=/i);
  assert.ok(cookieLine(login.setCookies, 'csrftoken'), 'rotated csrftoken set in the same response');
  assert.notEqual(jar.get('csrftoken'), token, 'CSRF token rotated on login');
  assert.match(jar.get('sessionid')!, /^[a-z0-9]{32}$/);

  const me = await call(jar, 'GET', '/api/me/');
  assert.equal(me.status, 200);
  assert.deepEqual(me.body, { user: { username: d.username, is_staff: true } });

  // A CSRF-protected JSON POST with the token in the header.
  const echo = await call(jar, 'POST', '/api/echo/', {
    headers: { 'content-type': 'application/json', 'x-csrftoken': jar.get('csrftoken')! },
    body: JSON.stringify({ message: 'hello', list: [1, 2, 3] }),
  });
  assert.equal(echo.status, 200, echo.text);
  assert.deepEqual(echo.body, {
    method: 'POST',
    contentType: 'application/json',
    data: { message: 'hello', list: [1, 2, 3] },
    user: { username: d.username, is_staff: true },
  });

  // A form POST with the token as csrfmiddlewaretoken, as a Django template form sends it.
  const form = new URLSearchParams({ csrfmiddlewaretoken: jar.get('csrftoken')!, name: 'Zoë & co', n: '7' });
  const formEcho = await call(jar, 'POST', '/api/echo/', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  assert.equal(formEcho.status, 200, formEcho.text);
  assert.equal(formEcho.body.contentType, 'application/x-www-form-urlencoded');
  assert.equal(formEcho.body.data.name, 'Zoë & co');
  assert.equal(formEcho.body.data.n, '7');
  assert.equal(formEcho.body.user.username, d.username);

  // The session lives in Django's database, not in anything tied to the host name used.
  const viaIp = await call(jar, 'GET', '/api/me/', { base: portico!.url });
  assert.deepEqual(viaIp.body, { user: { username: d.username, is_staff: true } });
});

test('Django answers a POST without a valid CSRF token with 403', async () => {
  const d = django!;
  const jar = new Jar();
  // No cookie at all.
  const bare = await call(jar, 'POST', '/api/echo/', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ a: 1 }),
  });
  assert.equal(bare.status, 403, bare.text);
  assert.equal(bare.res.headers.get('server'), 'gunicorn');
  assert.deepEqual(bare.body, { error: 'csrf', reason: 'CSRF cookie not set.' });

  // Cookie, but no header: also for a login, so an attacker's page cannot log a user in.
  await call(jar, 'GET', '/api/csrf/');
  assert.ok(jar.get('csrftoken'));
  const noHeader = await call(jar, 'POST', '/api/login/', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: d.username, password: d.password }),
  });
  assert.equal(noHeader.status, 403, noHeader.text);
  assert.equal(noHeader.body.error, 'csrf');
  assert.match(noHeader.body.reason, /CSRF token missing or incorrect/);
  assert.equal(jar.get('sessionid'), undefined, 'no session from a rejected login');

  // Cookie and a header that does not match it.
  const mismatch = await call(jar, 'POST', '/api/echo/', {
    headers: { 'content-type': 'application/json', 'x-csrftoken': 'x'.repeat(64) },
    body: JSON.stringify({ a: 1 }),
  });
  assert.equal(mismatch.status, 403, mismatch.text);
  assert.match(mismatch.body.reason, /CSRF token missing or incorrect/);

  // The same request with the right token passes: the 403s above were about the token.
  const ok = await call(jar, 'POST', '/api/echo/', {
    headers: { 'content-type': 'application/json', 'x-csrftoken': jar.get('csrftoken')! },
    body: JSON.stringify({ a: 1 }),
  });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.body.data, { a: 1 });
  assert.equal(ok.body.user, null);
});

test('Django sees the client address and Host from Portico, and spoofed forwarding headers do not reach it', async () => {
  const jar = new Jar();
  const host = `localhost:${portico!.port}`;
  const expected = {
    REMOTE_ADDR: '127.0.0.1', // gunicorn's peer: Portico
    HTTP_X_REAL_IP: '127.0.0.1', // the real client
    HTTP_X_FORWARDED_FOR: '127.0.0.1',
    HTTP_X_FORWARDED_PROTO: 'http',
    HTTP_X_FORWARDED_HOST: host,
    HTTP_FORWARDED: null,
    HTTP_HOST: host,
    host, // request.get_host(): the Host the client sent, passed unchanged
    isSecure: false,
    path: '/api/whoami/?q=1',
  };

  const plain = await call(jar, 'GET', '/api/whoami/?q=1');
  assert.equal(plain.status, 200, plain.text);
  assert.deepEqual(plain.body, expected);

  const spoofed = await call(jar, 'GET', '/api/whoami/?q=1', {
    headers: {
      'X-Forwarded-For': '6.6.6.6',
      'X-Real-IP': '6.6.6.6',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'evil.example',
      Forwarded: 'for=6.6.6.6;proto=https',
    },
  });
  assert.equal(spoofed.status, 200, spoofed.text);
  assert.deepEqual(spoofed.body, expected);
  assert.doesNotMatch(spoofed.text, /6\.6\.6\.6|evil\.example|https/);

  // By IP, the Host is the IP.
  const ipHost = await call(jar, 'GET', '/api/whoami/', { base: portico!.url });
  assert.equal(ipHost.body.host, `127.0.0.1:${portico!.port}`);
  assert.equal(ipHost.body.HTTP_X_REAL_IP, '127.0.0.1');
});

test('a Host that is not in ALLOWED_HOSTS reaches Django unchanged and Django refuses it', async () => {
  const { status, server, body } = await new Promise<{ status: number; server: string | undefined; body: string }>((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: portico!.port, path: '/api/me/', headers: { host: 'evil.example' }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, server: res.headers.server as string | undefined, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 400);
  assert.equal(server, 'gunicorn', 'the 400 is Django\'s DisallowedHost, not Portico\'s');
  assert.match(body, /Bad Request/);
  // Django logs it on the worker's stderr; the pipe may deliver it a moment after the response.
  await until(() => /Invalid HTTP_HOST header: 'evil\.example'/.test(django!.output()), 'DisallowedHost in the Django log');
});

test('/admin/ renders and a staff user logs in with a form; /static/ and /media/ are served by Django', async () => {
  const d = django!;
  const jar = new Jar();

  const bare = await call(jar, 'GET', '/admin');
  assert.equal(bare.status, 301, 'Portico redirects /admin to /admin/');
  assert.equal(bare.res.headers.get('location'), '/admin/');

  const index = await call(jar, 'GET', '/admin/');
  assert.equal(index.status, 302);
  assert.equal(index.res.headers.get('location'), '/admin/login/?next=/admin/');

  const page = await call(jar, 'GET', '/admin/login/?next=/admin/');
  assert.equal(page.status, 200);
  assert.match(page.res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.text, /<title>Log in \| Django site admin<\/title>/);
  const field = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(page.text);
  assert.ok(field, 'the login form carries a CSRF token');
  assert.ok(jar.get('csrftoken'), 'and the CSRF cookie is set');
  // The admin's stylesheet link points at /static/, which Portico sends to Django too.
  const css = /href="(\/static\/admin\/css\/[^"]+\.css)"/.exec(page.text);
  assert.ok(css, 'admin page links its CSS under /static/');

  const login = await call(jar, 'POST', '/admin/login/?next=/admin/', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrfmiddlewaretoken: field[1]!, username: d.username, password: d.password, next: '/admin/' }).toString(),
  });
  assert.equal(login.status, 302, login.text);
  assert.equal(login.res.headers.get('location'), '/admin/');
  assert.ok(jar.get('sessionid'));

  const home = await call(jar, 'GET', '/admin/');
  assert.equal(home.status, 200);
  assert.match(home.text, /Site administration/);
  assert.match(home.text, new RegExp(`Welcome,\\s*<strong>${d.username}</strong>`));

  const style = await call(jar, 'GET', css[1]!);
  assert.equal(style.status, 200);
  assert.match(style.res.headers.get('content-type') ?? '', /^text\/css/);
  assert.equal(style.res.headers.get('server'), 'gunicorn');
  assert.ok(style.text.length > 100);

  await writeMedia(d, 'hello.txt', 'media through Portico\n');
  const media = await call(jar, 'GET', '/media/hello.txt');
  assert.equal(media.status, 200);
  assert.equal(media.text, 'media through Portico\n');
  assert.equal(media.res.headers.get('server'), 'gunicorn');
});

test('everything else goes to the frontend, and /api/ never does', async () => {
  const jar = new Jar();
  const seenBefore = frontend!.seen.length;
  const home = await call(jar, 'GET', '/');
  assert.equal(home.status, 200);
  assert.equal(home.res.headers.get('x-served-by'), 'frontend');
  assert.match(home.text, /<pre id="result">/);
  const other = await call(jar, 'GET', '/some/page?x=1');
  assert.equal(other.status, 404);
  assert.equal(other.text, 'frontend: not found\n');
  // "/apifoo" is not under "/api/".
  const near = await call(jar, 'GET', '/apifoo');
  assert.equal(near.res.headers.get('x-served-by'), 'frontend');
  const urls = frontend!.seen.slice(seenBefore).map((s) => s.url);
  assert.deepEqual(urls, ['/', '/some/page?x=1', '/apifoo']);
  assert.ok(frontend!.seen.every((s) => !/^\/(api|admin|static|media)\//.test(s.url)), 'no Django path reached the frontend');
});

test('Chromium: the page logs in with relative fetch() calls on one origin, no CORS', async (t) => {
  const d = django!;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);

  const requests: PwRequest[] = [];
  const apiResponses: PwResponse[] = [];
  const failed: string[] = [];
  page.on('request', (r) => requests.push(r));
  page.on('requestfailed', (r) => failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) apiResponses.push(r);
  });

  const nav = await page.goto(`${origin}/`);
  assert.ok(nav);
  assert.equal(nav.status(), 200);
  assert.equal(await nav.headerValue('x-served-by'), 'frontend');

  await page.fill('#username', d.username);
  await page.fill('#password', d.password);
  await page.click('#run');
  await page.waitForSelector('#result[data-done="true"]');
  const result = JSON.parse((await page.textContent('#result'))!);
  assert.equal(result.error, undefined, result.error);

  assert.equal(result.origin, origin);
  assert.equal(result.csrf.status, 200);
  assert.equal(result.csrf.type, 'basic', 'a same-origin response, not a CORS one');
  assert.equal(typeof result.csrf.body.csrfToken, 'string');
  assert.ok(result.csrfCookieBeforeLogin, 'the page can read csrftoken from document.cookie');

  assert.equal(result.login.status, 200, JSON.stringify(result.login));
  assert.deepEqual(result.login.body, { user: { username: d.username, is_staff: true } });
  assert.ok(result.csrfCookieAfterLogin);
  assert.notEqual(result.csrfCookieAfterLogin, result.csrfCookieBeforeLogin, 'Django rotated the token on login');

  assert.equal(result.me.status, 200);
  assert.deepEqual(result.me.body, { user: { username: d.username, is_staff: true } });

  assert.equal(result.echo.status, 200, JSON.stringify(result.echo));
  assert.deepEqual(result.echo.body, {
    method: 'POST',
    contentType: 'application/json',
    data: { message: 'hello from the page', n: 42 },
    user: { username: d.username, is_staff: true },
  });

  const host = `localhost:${portico!.port}`;
  assert.deepEqual(result.whoami.body, {
    REMOTE_ADDR: '127.0.0.1',
    HTTP_X_REAL_IP: '127.0.0.1',
    HTTP_X_FORWARDED_FOR: '127.0.0.1',
    HTTP_X_FORWARDED_PROTO: 'http',
    HTTP_X_FORWARDED_HOST: host,
    HTTP_FORWARDED: null,
    HTTP_HOST: host,
    host,
    isSecure: false,
    path: '/api/whoami/',
  });

  // No CORS anywhere: every fetch was same-origin, no preflight, no Access-Control-* headers.
  for (const step of ['csrf', 'login', 'me', 'echo', 'whoami']) {
    assert.equal(result[step].type, 'basic', `${step}: same-origin response`);
    assert.equal(result[step].acao, null, `${step}: no Access-Control-Allow-Origin`);
    assert.equal(result[step].url, `${origin}${new URL(result[step].url).pathname}`);
  }
  assert.deepEqual(failed.filter((f) => !f.includes('/favicon.ico')), []);
  assert.equal(requests.filter((r) => r.method() === 'OPTIONS').length, 0, 'no preflight');
  for (const r of requests) assert.equal(new URL(r.url()).origin, origin, `request left the origin: ${r.url()}`);
  const fetches = requests.filter((r) => r.resourceType() === 'fetch').map((r) => `${r.method()} ${new URL(r.url()).pathname}`);
  assert.deepEqual(fetches, ['GET /api/csrf/', 'POST /api/login/', 'GET /api/me/', 'POST /api/echo/', 'GET /api/whoami/']);
  assert.equal(apiResponses.length, 5);
  for (const r of apiResponses) {
    const headers = await r.allHeaders();
    assert.equal(headers.server, 'gunicorn');
    assert.deepEqual(Object.keys(headers).filter((k) => k.startsWith('access-control-')), []);
  }

  // The browser holds Django's cookies for the Portico origin: sessionid (HttpOnly, so not in
  // document.cookie) and csrftoken (readable by the page's JS).
  const cookies = await context.cookies(origin);
  const session = cookies.find((c) => c.name === 'sessionid');
  assert.ok(session, `sessionid cookie for ${origin}: ${JSON.stringify(cookies)}`);
  assert.equal(session.domain, 'localhost');
  assert.equal(session.path, '/');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  const csrfCookie = cookies.find((c) => c.name === 'csrftoken');
  assert.ok(csrfCookie);
  assert.equal(csrfCookie.domain, 'localhost');
  assert.equal(csrfCookie.value, result.csrfCookieAfterLogin);
  assert.match(result.documentCookie, new RegExp(`(^|; )csrftoken=${csrfCookie.value}($|;)`));
  assert.doesNotMatch(result.documentCookie, /sessionid/);

  // A plain navigation on the same origin carries the session as well.
  const me = await page.goto(`${origin}/api/me/`);
  assert.ok(me);
  assert.equal(me.status(), 200);
  assert.deepEqual(await me.json(), { user: { username: d.username, is_staff: true } });
});
