/**
 * A decoded path carrying CR LF ("GET /a%0d%0aX:%20y" is the path "/a\r\nX: y") put into a
 * head by a template: response_headers {path}, nginx `add_header X $uri`, a server-level
 * `rewrite ... $uri` redirect, `proxy_set_header X-Uri $uri`, a rewrite capture in a query,
 * a redirect target, and a WebSocket 101 (and a refusal on the upgrade socket) with a
 * templated header. Before: node threw ERR_INVALID_CHAR out of its event handler (the process
 * exited), or an extra header line reached the client, the app server or the 101.
 * Each case asserts: no "X: y" line anywhere, the value percent-encoded where it landed,
 * the app server (a strictly framing recording origin) saw only well-formed requests, and a
 * second request is still answered. Requests go both over a kept-alive connection (the lean
 * HTTP/1.1 path) and with `Connection: close` (node's http server).
 * The last two tests run the same nginx.conf in a real nginx (it writes $uri's bytes as they
 * are: it injects the line) and the same Caddyfile in a real Caddy (CR and LF become spaces);
 * Portico's difference is asserted there (docs/differences.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startPortico, proxyTo, type TestPortico } from '../helpers/portico.js';
import { startRecordingOrigin, jsonAnswer, type OriginRequest, type RecordingOrigin } from '../helpers/recording-origin.js';
import { RawClient, all, one, rawRequest, type RawResponse } from '../proxy/support.js';
import { leanStats } from '../../src/server/lean/lean-connection.js';
import { leanPath } from '../helpers/upstream-client.js';
import { adaptNginx } from '../../src/config/adapters/nginx/index.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS, type NginxPrefix, type TestNginx } from '../helpers/nginx.js';
import { haveCaddy, startCaddy, type TestCaddy } from '../helpers/caddy.js';
import { adaptCaddyfile } from '../../src/config/adapters/caddyfile/index.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { h2Request } from '../helpers/tls.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ATTACK = '/a%0d%0aX:%20y';
/** The decoded path "/a\r\nX: y" percent-encoded: controls become %0D%0A, the rest stays. */
const IN_HEADER = '/a%0D%0AX: y';
/** The same in a URI (Location): the space is encoded too. */
const IN_URI = '/a%0D%0AX:%20y';

function assertNoInjection(res: RawResponse, what: string): void {
  assert.deepEqual(all(res, 'X'), [], `${what}: an injected "X" header line reached the client`);
  assert.ok(!res.raw.toString('latin1').includes('\r\nX: y'), `${what}: raw "X: y" line in ${JSON.stringify(res.raw.toString('latin1'))}`);
}

function assertOriginClean(origin: RecordingOrigin, what: string): void {
  assert.deepEqual(origin.unframed, [], `${what}: the app server got bytes it could not frame`);
  for (const r of origin.requests) {
    assert.deepEqual(
      r.headers.filter(([n]) => n.toLowerCase() === 'x'),
      [],
      `${what}: an injected header line reached the app server: ${JSON.stringify(r.headers)}`,
    );
    assert.doesNotMatch(r.target, /[\s\x00-\x1f]/, `${what}: request target ${JSON.stringify(r.target)}`);
  }
}

function header(r: OriginRequest, name: string): string | undefined {
  return r.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** `path` on a kept-alive connection (lean path), then with Connection: close (node's server). */
async function bothPaths(portico: TestPortico, path: string, check: (res: RawResponse, via: string) => void): Promise<void> {
  const lean = leanStats.requests;
  const client = await RawClient.connect(portico.port);
  try {
    client.write(`GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
    check(await client.response(), 'lean path');
  } finally {
    client.destroy();
  }
  // Without node's parser (the fallback run) there is no lean path: node's server answers both.
  if (leanPath) assert.ok(leanStats.requests > lean, 'the kept-alive GET was answered on the lean path');
  else assert.equal(leanStats.requests, lean, 'no lean path without node\'s parser');
  check(await rawRequest(portico.port, `GET ${path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`), "node's http server");
}

/** The process is still up and serving: a plain request after the attack gets `status`. */
async function stillServing(portico: TestPortico, status = 200, host = 'a.test'): Promise<void> {
  const res = await rawRequest(portico.port, `GET /plain HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  assert.equal(res.status, status, 'a second request is answered');
}

function nginxConfig(text: string): PorticoConfigInput {
  const { config } = adaptNginx(text, 'nginx.conf');
  const servers = (config.servers as Record<string, unknown>[]).map(({ listen: _listen, ...rest }) => rest);
  return { ...config, servers } as unknown as PorticoConfigInput;
}

test('response_headers {path}: the value is percent-encoded, no header line is injected, the process stays up', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', response_headers: { set: { 'X-Path': '{path}' }, add: { 'X-Add': 'p={path}' } }, ...proxyTo(origin.address) }] }],
  });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  await bothPaths(portico, ATTACK, (res, via) => {
    assert.equal(res.status, 200, via);
    assertNoInjection(res, via);
    assert.equal(one(res, 'X-Path'), IN_HEADER, via);
    assert.equal(one(res, 'X-Add'), `p=${IN_HEADER}`, via);
  });
  await stillServing(portico);
  // Errors Portico makes itself carry the route's edits too (sendError threw from inside relay).
  await origin.close();
  const res = await rawRequest(portico.port, `GET ${ATTACK} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
  assert.equal(res.status, 502);
  assertNoInjection(res, '502');
  assert.equal(one(res, 'X-Path'), IN_HEADER);
  await stillServing(portico, 502);
});

test('request_headers {path} (proxy_set_header X-Uri $uri): the app server gets one escaped X-Uri, no extra line', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', request_headers: { set: { 'X-Uri': '{path}' } }, ...proxyTo(origin.address) }] }] });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  await bothPaths(portico, ATTACK, (res, via) => assert.equal(res.status, 200, via));
  await stillServing(portico);
  assertOriginClean(origin, 'request_headers');
  assert.equal(origin.requests.length, 3);
  for (const r of origin.requests.slice(0, 2)) assert.equal(header(r, 'X-Uri'), IN_HEADER);
});

test('a rewrite capture in the query and {path} after a "?": encoded before the request line', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({
    servers: [
      {
        rewrite: [{ match: '^/q/([^/]*)', to: '/x?p={re.1}', flag: 'break' }],
        routes: [
          { path: '/', ...proxyTo(origin.address) },
          { path: '/v/', rewrite: [{ match: '^', to: '/y?v={path}', flag: 'break' }], ...proxyTo(origin.address) },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  await bothPaths(portico, '/q/a%0d%0aX:%20y%26z=1', (res, via) => assert.equal(res.status, 200, via));
  await bothPaths(portico, '/v/a%0d%0aX:%20y', (res, via) => assert.equal(res.status, 200, via));
  await stillServing(portico);
  assertOriginClean(origin, 'rewrite');
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    ['/x?p=a%0D%0AX:%20y%26z=1', '/x?p=a%0D%0AX:%20y%26z=1', '/y?v=/v/a%0D%0AX:%20y', '/y?v=/v/a%0D%0AX:%20y', '/plain'],
  );
});

test('server-level rewrite to "https://example.test{path}" and a redirect route: the Location is a URI, the process stays up', async (t) => {
  const portico = await startPortico({
    servers: [
      { hosts: ['a.test'], rewrite: [{ match: '^/a', to: 'https://example.test{path}', flag: 'permanent' }], routes: [{ path: '/a', respond: { body: 'no' } }] },
      { hosts: ['b.test'], routes: [{ path: '/', redirect: { to: 'https://example.test{path}?from={path}' } }] },
    ],
  });
  t.after(() => portico.close());
  await bothPaths(portico, ATTACK, (res, via) => {
    assert.equal(res.status, 301, via);
    assertNoInjection(res, via);
    assert.equal(one(res, 'Location'), `https://example.test${IN_URI}`, via);
  });
  const res = await rawRequest(portico.port, `GET ${ATTACK} HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n`);
  assert.equal(res.status, 302);
  assertNoInjection(res, 'redirect route');
  // After the "?", the text is a query value: "/" stays, "%", "&", " " and CR LF are encoded.
  assert.equal(one(res, 'Location'), `https://example.test${IN_URI}?from=${IN_URI}`);
  await stillServing(portico, 404);
  await stillServing(portico, 302, 'b.test');
});

test('WebSocket: a templated header on the 101, on a refusal of the upgrade, and on the handshake sent to the app', async (t) => {
  const upgrade = (req: OriginRequest, socket: Socket) => {
    if (header(req, 'Upgrade') === undefined) return jsonAnswer(req);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    return undefined;
  };
  const origin = await startRecordingOrigin(upgrade);
  const response = { response_headers: { set: { 'X-Path': '{path}' } } };
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/denied/', ...response, ...proxyTo(origin.address), access: [{ deny: 'all' }] },
          { path: '/req/', request_headers: { set: { 'X-Uri': '{path}' } }, ...proxyTo(origin.address) },
          { path: '/', ...response, ...proxyTo(origin.address) },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  const handshake = (path: string) =>
    `GET ${path} HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
  for (const [path, status, value] of [
    [ATTACK, 101, IN_HEADER],
    [`/denied${ATTACK}`, 403, `/denied${IN_HEADER}`],
    [`/req${ATTACK}`, 101, undefined],
  ] as const) {
    const client = await RawClient.connect(portico.port);
    try {
      client.write(handshake(path));
      const res = await client.response();
      assert.equal(res.status, status, path);
      assertNoInjection(res, `${status}`);
      assert.equal(one(res, 'X-Path'), value);
    } finally {
      client.destroy();
    }
  }
  await stillServing(portico);
  assertOriginClean(origin, 'upgrade');
  assert.deepEqual(
    origin.requests.map((r) => [r.target, header(r, 'X-Uri')]),
    [
      [ATTACK, undefined],
      [`/req${ATTACK}`, `/req${IN_HEADER}`],
      ['/plain', undefined],
    ],
    'the refused upgrade never reached the app server',
  );
});

test('HTTP/2: {path} in a response header and a redirect is encoded the same way; nothing else reaches the client', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'portico-h2-'));
  const origin = await startRecordingOrigin();
  let portico: TestPortico | undefined;
  t.after(async () => {
    await Promise.all([portico?.close(), origin.close()]);
    await rm(dataDir, { recursive: true, force: true });
  });
  portico = await startPortico({
    data_dir: dataDir,
    servers: [
      {
        tls: 'internal',
        routes: [
          { path: '/r/', redirect: { to: 'https://example.test{path}' } },
          { path: '/', response_headers: { set: { 'X-Path': '{path}' } }, request_headers: { set: { 'X-Uri': '{path}' } }, ...proxyTo(origin.address) },
        ],
      },
    ],
  });
  const ca = await readFile(join(dataDir, 'pki/authorities/local/root.crt'), 'utf8');
  const res = await h2Request(portico.port, ca, { path: ATTACK });
  assert.equal(res.status, 200);
  assert.deepEqual(res.headers.filter(([n]) => n === 'x' || n === 'x-path'), [['x-path', IN_HEADER]]);
  const redirect = await h2Request(portico.port, ca, { path: `/r${ATTACK}` });
  assert.deepEqual([redirect.status, redirect.headers.filter(([n]) => n === 'location' || n === 'x')], [302, [['location', `https://example.test/r${IN_URI}`]]]);
  assert.equal((await h2Request(portico.port, ca, { path: '/plain' })).status, 200);
  assertOriginClean(origin, 'HTTP/2');
  assert.equal(header(origin.requests[0]!, 'X-Uri'), IN_HEADER);
});

test('nginx.conf through the adapter: add_header $uri, proxy_set_header $uri, rewrite ... $uri permanent, return 302 ...$uri', async (t) => {
  const origin = await startRecordingOrigin();
  const conf = (port: number, up: number, temp = TEMP_PATHS) => `events {}
http {
    ${temp}
    access_log off;
    server {
        listen 127.0.0.1:${port};
        rewrite ^/srv/ https://example.test$uri permanent;
        location /h/ { add_header X-Uri $uri; proxy_pass http://127.0.0.1:${up}; }
        location /p/ { proxy_set_header X-Uri $uri; proxy_pass http://127.0.0.1:${up}; }
        location /ret/ { return 302 https://example.test$uri; }
        location / { proxy_pass http://127.0.0.1:${up}; }
    }
}
`;
  const portico = await startPortico(nginxConfig(conf(1, origin.port, '')));
  t.after(() => Promise.all([portico.close(), origin.close()]));

  await bothPaths(portico, `/h${ATTACK}`, (res, via) => {
    assert.equal(res.status, 200, via);
    assertNoInjection(res, via);
    assert.equal(one(res, 'X-Uri'), `/h${IN_HEADER}`, via);
  });
  await bothPaths(portico, `/p${ATTACK}`, (res, via) => assert.equal(res.status, 200, via));
  for (const r of origin.requests.filter((r) => r.target.startsWith('/p/'))) assert.equal(header(r, 'X-Uri'), `/p${IN_HEADER}`);
  await bothPaths(portico, `/srv${ATTACK}`, (res, via) => {
    assert.equal(res.status, 301, via);
    assertNoInjection(res, via);
    assert.equal(one(res, 'Location'), `https://example.test/srv${IN_URI}`, via);
  });
  await bothPaths(portico, `/ret${ATTACK}`, (res, via) => {
    assert.equal(res.status, 302, via);
    assertNoInjection(res, via);
    assert.equal(one(res, 'Location'), `https://example.test/ret${IN_URI}`, via);
  });
  await stillServing(portico);
  assertOriginClean(origin, 'nginx.conf');
});

test('the same nginx.conf in a real nginx: equal header values for printable paths; nginx writes the CR LF of $uri (and a space in a Location) as they are, Portico encodes them', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const origins = [await startRecordingOrigin(), await startRecordingOrigin()];
  const conf = (port: number, up: number, temp = TEMP_PATHS) => `events {}
http {
    ${temp}
    access_log off;
    server {
        listen 127.0.0.1:${port};
        location /h/ { add_header X-Uri $uri; proxy_pass http://127.0.0.1:${up}; }
        location /p/ { proxy_set_header X-Uri $uri; proxy_pass http://127.0.0.1:${up}; }
        location /ret/ { return 302 https://example.test$uri; }
    }
}
`;
  let nginx: TestNginx | undefined;
  let prefix: NginxPrefix | undefined;
  let portico: TestPortico | undefined;
  t.after(async () => {
    await Promise.all([portico?.close(), nginx?.close()]);
    await Promise.all([prefix?.remove(), ...origins.map((o) => o.close())]);
  });
  const nginxPort = await freePort();
  prefix = await makePrefix({ 'nginx.conf': conf(nginxPort, origins[0]!.port) });
  nginx = await startNginx(prefix, nginxPort);
  portico = await startPortico(nginxConfig(conf(1, origins[1]!.port, '')));
  const get = (port: number, path: string) => rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);

  // A printable path (a space, a "%" decoded from %25): the same header value. In a Location
  // nginx writes $uri's space as is; Portico a URI (RFC 3986 has no spaces), so "%20".
  const [n1, p1] = [await get(nginxPort, '/h/a%20b%25c'), await get(portico.port, '/h/a%20b%25c')];
  assert.equal(p1.status, n1.status);
  assert.equal(one(p1, 'X-Uri'), one(n1, 'X-Uri'));
  assert.equal(one(p1, 'X-Uri'), '/h/a b%c');
  const [n2, p2] = [await get(nginxPort, '/ret/a%20b'), await get(portico.port, '/ret/a%20b')];
  assert.deepEqual([n2.status, one(n2, 'Location')], [302, 'https://example.test/ret/a b']);
  assert.deepEqual([p2.status, one(p2, 'Location')], [302, 'https://example.test/ret/a%20b']);
  // Non-ASCII: nginx writes the UTF-8 bytes of "é" (read here as latin1), Portico "%C3%A9".
  const [n3, p3] = [await get(nginxPort, '/h/caf%C3%A9'), await get(portico.port, '/h/caf%C3%A9')];
  assert.deepEqual([one(n3, 'X-Uri'), one(p3, 'X-Uri')], ['/h/caf\u00c3\u00a9', '/h/caf%C3%A9']);
  const [n4, p4] = [await get(nginxPort, '/ret/caf%C3%A9'), await get(portico.port, '/ret/caf%C3%A9')];
  assert.deepEqual([one(n4, 'Location'), one(p4, 'Location')], ['https://example.test/ret/caf\u00c3\u00a9', 'https://example.test/ret/caf%C3%A9']);
  await get(nginxPort, '/p/a%20b');
  await get(portico.port, '/p/a%20b');
  assert.equal(header(origins[1]!.requests.at(-1)!, 'X-Uri'), header(origins[0]!.requests.at(-1)!, 'X-Uri'));
  assert.equal(header(origins[1]!.requests.at(-1)!, 'X-Uri'), '/p/a b');

  // CR LF: nginx (measured with 1.22) sends the injected line; Portico the encoded value.
  const [nh, ph] = [await get(nginxPort, `/h${ATTACK}`), await get(portico.port, `/h${ATTACK}`)];
  t.diagnostic(`nginx: X-Uri ${JSON.stringify(all(nh, 'X-Uri'))}, X ${JSON.stringify(all(nh, 'X'))}`);
  assert.deepEqual([all(nh, 'X-Uri'), all(nh, 'X')], [['/h/a'], ['y']]);
  assert.deepEqual([all(ph, 'X-Uri'), all(ph, 'X')], [[`/h${IN_HEADER}`], []]);
  const [nr, pr] = [await get(nginxPort, `/ret${ATTACK}`), await get(portico.port, `/ret${ATTACK}`)];
  assert.deepEqual([all(nr, 'Location'), all(nr, 'X')], [['https://example.test/ret/a'], ['y']]);
  assert.deepEqual([all(pr, 'Location'), all(pr, 'X')], [[`https://example.test/ret${IN_URI}`], []]);
  await get(nginxPort, `/p${ATTACK}`);
  await get(portico.port, `/p${ATTACK}`);
  assert.deepEqual(header(origins[0]!.requests.at(-1)!, 'X'), 'y', 'nginx passes the injected line to the app server');
  assert.equal(header(origins[1]!.requests.at(-1)!, 'X-Uri'), `/p${IN_HEADER}`);
  assertOriginClean(origins[1]!, 'Portico');
});

test('a Caddyfile through the adapter, and the same Caddyfile in a real Caddy: Caddy turns CR LF into spaces, Portico encodes them', { skip: !haveCaddy() && 'caddy is not installed' }, async (t) => {
  const origins = [await startRecordingOrigin(), await startRecordingOrigin()];
  const dir = await mkdtemp(join(tmpdir(), 'portico-caddy-'));
  let caddy: TestCaddy | undefined;
  let portico: TestPortico | undefined;
  t.after(async () => {
    await Promise.all([portico?.close(), caddy?.close()]);
    await Promise.all([rm(dir, { recursive: true, force: true }), ...origins.map((o) => o.close())]);
  });
  const caddyfile = (site: string, up: number) => `{
  admin off
  auto_https off
}
${site} {
  handle /h/* {
    header X-Path {path}
    reverse_proxy 127.0.0.1:${up}
  }
  handle /p/* {
    reverse_proxy 127.0.0.1:${up} {
      header_up X-Uri {path}
    }
  }
  handle /r/* {
    redir https://example.test{path}
  }
}
`;
  const caddyPort = await freePort();
  await writeFile(join(dir, 'Caddyfile'), caddyfile(`http://127.0.0.1:${caddyPort}`, origins[0]!.port));
  caddy = await startCaddy(join(dir, 'Caddyfile'), dir, caddyPort);
  const { config } = adaptCaddyfile(caddyfile('http://a.test', origins[1]!.port), 'Caddyfile');
  const servers = (config.servers as Record<string, unknown>[]).map(({ listen: _listen, ...rest }) => rest);
  portico = await startPortico({ ...config, servers } as unknown as PorticoConfigInput);
  const get = (port: number, path: string, host: string) => rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  const caddyGet = (path: string) => get(caddyPort, path, `127.0.0.1:${caddyPort}`);
  const porticoGet = (path: string) => get(portico!.port, path, 'a.test');

  const [ch, ph] = [await caddyGet(`/h${ATTACK}`), await porticoGet(`/h${ATTACK}`)];
  assert.deepEqual([all(ch, 'X-Path'), all(ch, 'X')], [['/h/a  X: y'], []]);
  assert.deepEqual([all(ph, 'X-Path'), all(ph, 'X')], [[`/h${IN_HEADER}`], []]);
  const [cr, pr] = [await caddyGet(`/r${ATTACK}`), await porticoGet(`/r${ATTACK}`)];
  assert.deepEqual([cr.status, all(cr, 'Location')], [302, ['https://example.test/r/a  X: y']]);
  assert.deepEqual([pr.status, all(pr, 'Location'), all(pr, 'X')], [302, [`https://example.test/r${IN_URI}`], []]);
  // Caddy refuses to send the header upstream (Go's client): 502; Portico sends it encoded.
  const [cp, pp] = [await caddyGet(`/p${ATTACK}`), await porticoGet(`/p${ATTACK}`)];
  assert.equal(cp.status, 502);
  assert.equal(pp.status, 200);
  assert.equal(header(origins[1]!.requests.at(-1)!, 'X-Uri'), `/p${IN_HEADER}`);
  assertOriginClean(origins[1]!, 'Portico');
  assert.equal((await porticoGet('/h/plain')).status, 200);
});
