/**
 * The response cache in front of a real Django under a real gunicorn (issue 15):
 *  - a logged-in user never gets another user's cached page, nor an anonymous visitor a
 *    logged-in one: Django marks pages that read the session with Vary: Cookie, its login and
 *    CSRF responses set cookies (never stored), and the cache honours both;
 *  - pages that do not read the session are shared;
 *  - gunicorn killed: cached pages keep being served, fresh ones as HIT and expired ones as
 *    STALE (use_stale error timeout), and the cache fills again once gunicorn is back.
 * Pages come from the fixture's /api/page/, /api/public/ and /api/brief/ views.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareDjango, startGunicorn, type Gunicorn, type PreparedDjango } from '../helpers/django.js';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { delay } from '../proxy/support.js';

let prepared: PreparedDjango | undefined;
let gunicorn: Gunicorn | undefined;
let portico: TestPortico | undefined;
let dataDir = '';
const BOB = { username: 'bob', password: 'bob-has-another-password' };

before(async () => {
  prepared = await prepareDjango({ secondUser: BOB });
  gunicorn = await startGunicorn(prepared);
  dataDir = mkdtempSync(join(tmpdir(), 'portico-django-cache-'));
  portico = await startPortico({
    data_dir: dataDir,
    cache: { pages: {} },
    servers: [
      {
        routes: [
          {
            path: '/api/',
            proxy: { to: gunicorn.address },
            cache: { zone: 'pages', status_header: 'X-Cache-Status', use_stale: ['error', 'timeout', 'http_502', 'http_503'], lock: true },
          },
        ],
      },
    ],
  });
});

after(async () => {
  await portico?.close();
  await gunicorn?.close();
  await prepared?.cleanup();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** One client's cookies. */
class Client {
  readonly cookies = new Map<string, string>();

  async get(path: string): Promise<{ status: number; cache: string | null; body: any; vary: string | null }> {
    const res = await fetch(`${portico!.url}${path}`, { headers: this.#headers() });
    this.#store(res);
    const text = await res.text();
    return { status: res.status, cache: res.headers.get('x-cache-status'), body: text.startsWith('{') ? JSON.parse(text) : text, vary: res.headers.get('vary') };
  }

  async login(username: string, password: string): Promise<void> {
    await this.get('/api/csrf/');
    const res = await fetch(`${portico!.url}/api/login/`, {
      method: 'POST',
      headers: { ...this.#headers(), 'content-type': 'application/json', 'x-csrftoken': this.cookies.get('csrftoken')! },
      body: JSON.stringify({ username, password }),
    });
    this.#store(res);
    assert.equal(res.status, 200, await res.text());
    assert.ok(this.cookies.get('sessionid'), 'logged in');
  }

  #headers(): Record<string, string> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return cookie === '' ? {} : { cookie };
  }

  #store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
}

test('Django: a logged-in user never gets another user\'s cached page, nor an anonymous visitor theirs', async () => {
  const anonymous = new Client();
  const first = await anonymous.get('/api/page/');
  assert.deepEqual(first.body, { user: null });
  assert.equal(first.cache, 'MISS');
  assert.match(first.vary ?? '', /Cookie/, 'Django varies the page on Cookie');
  assert.equal((await anonymous.get('/api/page/')).cache, 'HIT');

  const alice = new Client();
  await alice.login(prepared!.username, prepared!.password);
  const a1 = await alice.get('/api/page/');
  assert.equal(a1.body.user?.username, prepared!.username);
  const bob = new Client();
  await bob.login(BOB.username, BOB.password);
  const b1 = await bob.get('/api/page/');
  assert.equal(b1.body.user?.username, BOB.username);
  assert.notEqual(b1.cache, 'HIT');

  // Each gets their own page again (from the cache: one copy per Cookie header).
  const a2 = await alice.get('/api/page/');
  assert.equal(a2.body.user?.username, prepared!.username);
  assert.equal(a2.cache, 'HIT');
  const b2 = await bob.get('/api/page/');
  assert.equal(b2.body.user?.username, BOB.username);
  const anon2 = await anonymous.get('/api/page/');
  assert.deepEqual(anon2.body, { user: null });

  // A forged session cookie gets Django's anonymous page, never a stored personal one.
  const forger = new Client();
  forger.cookies.set('sessionid', 'not-a-session');
  assert.deepEqual((await forger.get('/api/page/')).body, { user: null });
});

test('Django: CSRF and login responses set cookies and are never stored; the CSRF token of one client never reaches another', async () => {
  const one = new Client();
  const a = await one.get('/api/csrf/');
  const two = new Client();
  const b = await two.get('/api/csrf/');
  assert.notEqual(a.cache, 'HIT');
  assert.notEqual(b.cache, 'HIT');
  assert.notEqual(one.cookies.get('csrftoken'), two.cookies.get('csrftoken'));
});

test('Django: a page that does not read the session is shared', async () => {
  const a = new Client();
  await a.login(prepared!.username, prepared!.password);
  await a.get('/api/public/');
  const other = new Client();
  const r = await other.get('/api/public/');
  assert.equal(r.cache, 'HIT');
  assert.deepEqual(r.body, { page: 'public' });
});

test('Django: gunicorn killed, cached pages keep being served (HIT fresh, STALE expired); back up, the cache fills again', async () => {
  const c = new Client();
  await c.get('/api/public/');
  await c.get('/api/brief/');
  await gunicorn!.kill('SIGKILL');
  await delay(1100); // /api/brief/ is fresh for one second
  const fresh = await c.get('/api/public/');
  assert.equal(fresh.status, 200);
  assert.equal(fresh.cache, 'HIT');
  for (let i = 0; i < 3; i++) {
    const stale = await c.get('/api/brief/');
    assert.equal(stale.status, 200);
    assert.equal(stale.cache, 'STALE');
    assert.deepEqual(stale.body, { page: 'brief' });
  }
  // Never cached: with gunicorn dead, an error.
  assert.equal((await c.get('/api/me/')).status, 502);
  await gunicorn!.start();
  const back = await c.get('/api/brief/');
  assert.equal(back.status, 200);
  assert.equal(back.cache, 'EXPIRED');
});
