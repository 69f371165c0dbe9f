/**
 * No request reads outside the served directory. Every vector goes byte for byte over a raw
 * socket, must be refused (400, 403 or 404) and must not carry the secret that sits next to
 * the root. The same vectors run through Portico (dispatcher + handler), against an alias
 * route, and against the handler alone on paths the dispatcher never lets through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rawRequest } from '../proxy/support.js';
import { checkRelative, joinInside } from '../../src/files/resolve-path.js';
import { makeSite, rawGet, SECRET, serveFiles, startBare } from './support.js';

/** Request targets under "/"; `{tmp}` is the temp directory's absolute path. */
const VECTORS = [
  '/../secret.txt',
  '/./../secret.txt',
  '/docs/../../secret.txt',
  '/hello.txt/../../secret.txt',
  '/%2e%2e/secret.txt',
  '/%2E%2E/secret.txt',
  '/.%2e/secret.txt',
  '/%2e./secret.txt',
  '/..%2fsecret.txt',
  '/..%2Fsecret.txt',
  '/docs/..%2f..%2fsecret.txt',
  '/docs/%2e%2e/%2e%2e/secret.txt',
  '/..%5csecret.txt',
  '/%5c..%5csecret.txt',
  '/..\\secret.txt',
  '/%252e%252e/secret.txt',
  '/%252e%252e%252fsecret.txt',
  '/%2e%2e%252fsecret.txt',
  '/secret.txt%00.html',
  '/%00/../secret.txt',
  '/%c0%ae%c0%ae/secret.txt',
  '/..%c0%afsecret.txt',
  '/%e0%80%ae%e0%80%ae/secret.txt',
  '/..;/secret.txt',
  '/....//secret.txt',
  '//{tmp}/secret.txt',
  '/{tmp}/secret.txt',
  '/link-out',
  '/link-out/',
  '/dir-out/secret.txt',
  '/.env',
  '/%2eenv',
  '/.git/config',
  '/.git/',
  'http://test/../secret.txt',
];

function expand(target: string, tmp: string): string {
  return target.replaceAll('{tmp}', tmp.slice(1));
}

function assertRefused(res: { status: number; body: Buffer }, what: string): void {
  assert.ok([400, 403, 404].includes(res.status), `${what}: expected 400/403/404, got ${res.status}`);
  assert.ok(!res.body.toString('latin1').includes(SECRET), `${what}: the secret leaked`);
}

test(`traversal through Portico: ${VECTORS.length} vectors refused, the secret never sent`, async (t) => {
  const site = await makeSite();
  const portico = await serveFiles('/', { root: site.root, browse: true });
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  // Positive controls: the root is served, and the secret is readable where it really lives.
  assert.equal((await rawRequest(portico.port, rawGet('/hello.txt'))).body.toString(), 'hello, world\n');
  const open = await serveFiles('/', { root: site.tmp });
  t.after(() => open.close());
  assert.equal((await rawRequest(open.port, rawGet('/secret.txt'))).body.toString(), SECRET);

  for (const vector of VECTORS) {
    await t.test(vector, async () => {
      assertRefused(await rawRequest(portico.port, rawGet(expand(vector, site.tmp))), vector);
    });
  }
});

test('traversal against an alias route, including nginx\'s "/static../" alias slip', async (t) => {
  const site = await makeSite();
  const portico = await startPorticoWithAliases(site.root);
  t.after(async () => {
    await portico.close();
    await site.cleanup();
  });
  assert.equal((await rawRequest(portico.port, rawGet('/static/hello.txt'))).body.toString(), 'hello, world\n');
  assert.equal((await rawRequest(portico.port, rawGet('/assets/hello.txt'))).body.toString(), 'hello, world\n');
  const targets = [
    ...VECTORS.filter((v) => v.startsWith('/')).map((v) => '/static' + v),
    '/static../secret.txt',
    '/assets../secret.txt',
    '/assetsx',
    '/static/..%2f..%2fsecret.txt',
  ];
  for (const target of targets) {
    await t.test(target, async () => {
      assertRefused(await rawRequest(portico.port, rawGet(expand(target, site.tmp))), target);
    });
  }
});

function startPorticoWithAliases(root: string) {
  return serveFiles('/static/', { alias: root + '/' }, [{ path: '/assets', files: { alias: root } }]);
}

test('the handler alone refuses dot segments, backslashes, NUL and "//" it is handed undecoded by no dispatcher', async (t) => {
  const site = await makeSite();
  const bare = await startBare({ path: '/', files: { root: site.root } });
  t.after(async () => {
    await bare.close();
    await site.cleanup();
  });
  assert.equal((await rawRequest(bare.port, rawGet('/hello.txt'))).body.toString(), 'hello, world\n');
  // Here "%2e%2e" and "%2f" reach the handler decoded and unresolved ("/../secret.txt").
  const targets = [
    '/../secret.txt',
    '/docs/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/.%2fsecret.txt',
    '/..%5csecret.txt',
    '/%00secret.txt',
    `//${site.tmp.slice(1)}/secret.txt`,
    `/%2f${site.tmp.slice(1)}/secret.txt`,
    '/link-out',
    '/dir-out/secret.txt',
    '/.env',
  ];
  for (const target of targets) {
    await t.test(target, async () => {
      assertRefused(await rawRequest(bare.port, rawGet(target)), target);
    });
  }
});

test('checkRelative and joinInside: a table of paths', () => {
  const cases: [string, 0 | 400 | 404][] = [
    ['', 0],
    ['/', 0],
    ['/a/b.txt', 0],
    ['/a/b/', 0],
    ['/%2e%2e', 0], // a literal file name: never decoded twice
    ['/.well-known/acme', 0],
    ['a/b', 400],
    ['/../x', 400],
    ['/a/../x', 400],
    ['/a/./x', 400],
    ['/a//x', 400],
    ['/a\\..\\x', 400],
    ['/a\0b', 400],
    ['/a\nb', 400],
    ['/.env', 404],
    ['/a/.git/config', 404],
    ['/...', 404],
  ];
  for (const [rel, verdict] of cases) assert.equal(checkRelative(rel, false), verdict, JSON.stringify(rel));
  assert.equal(checkRelative('/.env', true), 0);
  assert.equal(checkRelative('/../x', true), 400);

  assert.equal(joinInside('/srv/www', '/a.txt'), '/srv/www/a.txt');
  assert.equal(joinInside('/srv/www', '/a/'), '/srv/www/a/');
  assert.equal(joinInside('/srv/www', ''), '/srv/www');
  assert.equal(joinInside('/srv/www', '/'), '/srv/www/');
  assert.equal(joinInside('/srv/www', '/../x'), undefined);
  assert.equal(joinInside('/srv/www', '/a/../../x'), undefined);
  assert.equal(joinInside('/srv/www', '//etc/passwd'), undefined);
  assert.equal(joinInside('/srv/www', '/../www2/x'), undefined);
  assert.equal(joinInside('/', '/etc/hosts'), '/etc/hosts');
  assert.equal(join('/srv/www', '/../x'), '/srv/x'); // what a naive join would have done
});
