/**
 * The canonical features the adapters map onto, used from YAML directly: rewrite rules
 * (server and route level, every flag, query rules, the cycle limit), proxy.path_prefix
 * (nginx's proxy_pass URI part), proxy.redirect (proxy_redirect), response header adds that
 * skip error responses (add_header without always), route access_log: false, {is_args}.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortico } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { rawRequest, one } from './support.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { AccessLog } from '../../src/log/access-log.js';

const get = (port: number, path: string, host = 'a.test') => rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);

async function echoUpstream() {
  return startUpstream((req, res) => {
    const url = new URL(req.url!, 'http://x');
    res.statusCode = Number(url.searchParams.get('status') ?? 200);
    const location = url.searchParams.get('location');
    if (location) res.setHeader('Location', location);
    res.end(req.url);
  });
}

test('rewrite rules: flags, queries, captures, server level', async (t) => {
  const up = await echoUpstream();
  const p = await startPortico({
    servers: [
      {
        rewrite: [
          { match: '^/old/(.*)$', to: '/new/{re.1}', flag: 'permanent' },
          { match: '^/moved$', to: 'https://elsewhere.test/x' },
          { match: '^/srv/(.*)$', to: '/api/{re.1}', flag: 'last' },
        ],
        routes: [
          { path: '/api/', proxy: { to: up.address } },
          { path: '/last/', rewrite: [{ match: '^/last/(.*)$', to: '/api/{re.1}', flag: 'last' }], respond: { body: 'not here' } },
          { path: '/brk/', rewrite: [{ match: '^/brk/(.*)$', to: '/inner/{re.1}', flag: 'break' }], proxy: { to: up.address, path_prefix: '/ignored/' } },
          { path: '/q/', rewrite: [{ match: '^/q/(.*)$', to: '/api/?v={re.1}', flag: 'last' }], respond: {} },
          { path: '/drop/', rewrite: [{ match: '^', to: '/api/dropped?', flag: 'last' }], respond: {} },
          { path: '/chain/', rewrite: [{ match: '^/chain/a$', to: '/chain/b' }, { match: '^/chain/b$', to: '/api/chained' }], respond: { body: 'no match' } },
          { path: '/ci/', rewrite: [{ match: '(?i)^/ci/UPPER$', to: '/api/upper', flag: 'last' }], respond: {} },
          { path: '/loop/', rewrite: [{ match: '^/loop/', to: '/loop/again', flag: 'last' }], respond: {} },
          { path: '/temp/', rewrite: [{ match: '^/temp/(.*)$', to: '/t/{re.1}', flag: 'redirect' }], respond: {} },
        ],
      },
    ],
  });
  t.after(() => Promise.all([p.close(), up.close()]));
  const r1 = await get(p.port, '/old/x?y=1');
  assert.equal(r1.status, 301);
  assert.equal(one(r1, 'location'), '/new/x?y=1');
  assert.equal(one(await get(p.port, '/moved?k=v'), 'location'), 'https://elsewhere.test/x?k=v');
  assert.equal((await get(p.port, '/srv/s?z=2')).body.toString(), '/api/s?z=2');
  assert.equal((await get(p.port, '/last/l')).body.toString(), '/api/l');
  assert.equal((await get(p.port, '/brk/b?w=1')).body.toString(), '/inner/b?w=1');
  assert.equal((await get(p.port, '/q/val?old=1')).body.toString(), '/api/?v=val&old=1');
  assert.equal((await get(p.port, '/drop/x?old=1')).body.toString(), '/api/dropped');
  assert.equal((await get(p.port, '/chain/a')).body.toString(), '/api/chained');
  assert.equal((await get(p.port, '/chain/zzz')).body.toString(), 'no match');
  assert.equal((await get(p.port, '/ci/upper')).body.toString(), '/api/upper');
  assert.equal((await get(p.port, '/loop/x')).status, 500);
  const temp = await get(p.port, '/temp/a%20b');
  assert.equal(temp.status, 302);
  assert.equal(one(temp, 'location'), '/t/a%20b');
});

test('path_prefix replaces the route prefix literally (nginx proxy_pass with a URI part)', async (t) => {
  const up = await echoUpstream();
  const p = await startPortico({
    servers: [
      {
        routes: [
          { path: '/v1/', proxy: { to: up.address, path_prefix: '/api/v1/' } },
          { path: '/trap', proxy: { to: up.address, path_prefix: '/' } },
          { path: '= /exact', proxy: { to: up.address, path_prefix: '/target' } },
          { path: '~ ^/re/(.*)$', strip_prefix: '/re', proxy: { to: up.address, path_prefix: '/x' } },
        ],
      },
    ],
  });
  t.after(() => Promise.all([p.close(), up.close()]));
  const body = async (path: string) => (await get(p.port, path)).body.toString();
  assert.equal(await body('/v1/users/7?a=b'), '/api/v1/users/7?a=b');
  assert.equal(await body('/trap/x'), '//x');
  assert.equal(await body('/trapdoor'), '/door');
  assert.equal(await body('/exact?k=v'), '/target?k=v');
  assert.equal(await body('/re/y'), '/x/y');
  assert.equal(await body('/v1/a%20b'), '/api/v1/a%20b');
  assert.equal(await body('/v1/a/../b'), '/api/v1/b');
});

test('proxy.redirect rewrites Location; success_only adds skip errors; access_log: false', async (t) => {
  const up = await echoUpstream();
  const dir = await mkdtemp(join(tmpdir(), 'portico-rw-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = parseConfigText(
    `
servers:
  - listen: ["127.0.0.1:0"]
    routes:
      - path: /
        proxy: { to: "${up.address}", redirect: [{ from: "http://backend/", to: "/app/" }] }
        response_headers:
          add:
            X-Always: "yes"
            X-Success: { value: "ok", success_only: true }
            X-Args: "{is_args}{query}"
      - path: = /quiet
        access_log: false
        respond: { body: "shh" }
`,
    'inline.yaml',
  );
  const logFile = join(dir, 'access.log');
  const accessLog = new AccessLog({ format: 'combined', output: logFile });
  const server = await startServer(config, { errorLog: silentLog(), accessLog });
  t.after(() => Promise.all([server.close(), up.close()]));
  const port = server.addresses[0]!.port;
  const moved = await get(port, '/r?status=302&location=http://backend/next');
  assert.equal(one(moved, 'location'), '/app/next');
  assert.equal(one(await get(port, '/r?status=302&location=http://other/next'), 'location'), 'http://other/next');
  assert.equal(one(moved, 'x-success'), 'ok');
  const missing = await get(port, '/r?status=404');
  assert.equal(one(missing, 'x-success'), undefined);
  assert.equal(one(missing, 'x-always'), 'yes');
  assert.equal(one(missing, 'x-args'), '?status=404');
  assert.equal(one(await get(port, '/plain'), 'x-args'), undefined, 'an empty value is not sent');
  assert.equal((await get(port, '/quiet')).body.toString(), 'shh');
  accessLog.flush();
  await new Promise((r) => setTimeout(r, 100));
  const log = await readFile(logFile, 'utf8');
  assert.match(log, /GET \/plain /);
  assert.doesNotMatch(log, /\/quiet/);
});

test('config errors for the new keys name the key', () => {
  const problems = (yaml: string) => {
    try {
      parseConfigText(yaml, 'p.yaml');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.join('\n');
    }
    return '';
  };
  assert.match(
    problems('servers:\n  - routes:\n      - path: "~ ^/x"\n        proxy: { to: "127.0.0.1:1", path_prefix: /y }\n'),
    /routes\[0\]\.proxy\.path_prefix: path_prefix on a regex route needs strip_prefix as a string/,
  );
  assert.match(problems('servers:\n  - rewrite: [{ match: "(", to: /x }]\n    routes: [{ path: /, respond: {} }]\n'), /p\.yaml:2:\d+: servers\[0\]\.rewrite\[0\]\.match: invalid regular expression/);
  assert.match(problems('servers:\n  - routes: [{ path: /, respond: {}, rewrite: [{ match: "^", to: /x, flag: later }] }]\n'), /rewrite\[0\]\.flag: expected one of "last", "break", "redirect", "permanent"/);
});

test('maps: plain keys ignoring case, regex keys in order, the default; {map.NAME} in headers and redirects', async (t) => {
  const up = await echoUpstream();
  const p = await startPortico({
    maps: {
      tier: { source: '{header.X-Plan}', values: { Gold: 'g', '~^silver-(\\d+)$': 's', '~*^BRONZE': 'b' }, default: 'none' },
      target: { source: '{path}', values: { '/old': '/new' } },
    },
    servers: [
      {
        routes: [
          { path: '= /old', redirect: { to: '{map.target}', status: 301 } },
          { path: '/', proxy: { to: up.address }, response_headers: { add: { 'X-Tier': '{map.tier}', 'X-Empty': '{map.target}' } } },
        ],
      },
    ],
  });
  t.after(() => Promise.all([p.close(), up.close()]));
  const tier = async (plan?: string) => {
    const r = await rawRequest(p.port, `GET /x HTTP/1.1\r\nHost: a\r\n${plan ? `X-Plan: ${plan}\r\n` : ''}Connection: close\r\n\r\n`);
    assert.equal(one(r, 'x-empty'), undefined);
    return one(r, 'x-tier');
  };
  assert.equal(await tier('GOLD'), 'g');
  assert.equal(await tier('silver-2'), 's');
  assert.equal(await tier('Silver-2'), 'none');
  assert.equal(await tier('bronze plus'), 'b');
  assert.equal(await tier(), 'none');
  assert.equal(one(await get(p.port, '/old'), 'location'), '/new');
});
