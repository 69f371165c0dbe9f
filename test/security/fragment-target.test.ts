/**
 * Issue 12 item 2: routing and forwarding see the same path. A request-target with a fragment
 * ("/whoami/#/../../x") was routed as "/x" while the upstream, which cuts at '#', served
 * "/whoami/": an IP-denied route answered 200. Such a target is a 400 now (RFC 9112 §3.2;
 * RFC 9113 §8.3.1 for :path), over both HTTP/1.1 paths and HTTP/2, and a path whose dot
 * segments or "//" routing resolved goes upstream as routing resolved it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startRecordingOrigin, type RecordingOrigin } from '../helpers/recording-origin.js';
import { startDjango } from '../helpers/django.js';
import { RawClient, rawRequest } from '../proxy/support.js';
import { h2Exchange, startTlsPortico } from './h2.js';

function routes(origin: RecordingOrigin) {
  return [
    { path: '/whoami/', access: [{ deny: ['all'] }], ...proxyTo(origin.address) },
    { path: '/private/', basic_auth: { users: { alice: '$2b$04$tRl4LWyTioGr/Uuy8odKu.M5ELXwciIMQooq0j9It87t0jN26ihbm' } }, ...proxyTo(origin.address) },
    { path: '/', ...proxyTo(origin.address) },
  ];
}

const get = (target: string) => `GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`;

test('a target with a fragment is a 400 and reaches no upstream (HTTP/1.1)', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({ servers: [{ routes: routes(origin) }] });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  for (const target of ['/whoami/#/../../x', '/private/#/../../x', '/whoami/%23/../..#', '/x?a=1#/whoami/', '/#', 'http://a/whoami/#/../../x']) {
    const res = await rawRequest(portico.port, get(target));
    assert.equal(res.status, 400, target);
  }
  assert.equal(origin.requests.length, 0);
  // Without the fragment the rules apply as usual (and "%23" is a character of the path).
  assert.equal((await rawRequest(portico.port, get('/whoami/'))).status, 403);
  assert.equal((await rawRequest(portico.port, get('/private/x'))).status, 401);
  assert.equal((await rawRequest(portico.port, get('/x%23y'))).status, 200);
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    ['/x%23y'],
  );
});

test('the 400 for a fragment closes the connection; the next request on it is never read', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({ servers: [{ routes: routes(origin) }] });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write(get('/ok') + get('/whoami/#/../../x') + get('/after'));
  assert.equal((await client.response()).status, 200);
  assert.equal((await client.response()).status, 400);
  await client.untilClosed();
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    ['/ok'],
  );
});

test('absolute-form: a fragment, userinfo or an empty host is a 400; an empty path is "/"', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({ servers: [{ routes: routes(origin) }] });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  for (const target of ['http://a/x#f', 'http://user@a/x', 'http://user:pw@a/x', 'http:///x', 'http://?x', 'ftp://a/x', '*']) {
    assert.equal((await rawRequest(portico.port, get(target))).status, 400, target);
  }
  assert.equal(origin.requests.length, 0);
  assert.equal((await rawRequest(portico.port, get('http://a?q=1'))).status, 200);
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    ['/?q=1'],
  );
});

test('the upstream gets the path routing resolved: dot segments and "//" cannot read as another route', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({ servers: [{ routes: routes(origin) }] });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  const cases: [string, string][] = [
    // An upstream matching "/whoami/" by prefix, or resolving "//.." as RFC 3986 does
    // ("/whoami//.." is "/whoami/" there, "/" for routing), saw the denied route's path.
    ['/whoami/../pub', '/pub'],
    ['/whoami//..', '/'],
    ['/whoami/%2e%2e/pub?q=1', '/pub?q=1'],
    ['/a/./b//c', '/a/b/c'],
    ['/whoami%2F..%2Fpub', '/pub'],
    // No dot segment: sent as received, so an encoded slash stays one segment.
    ['/a%2Fb', '/a%2Fb'],
    ['/a//b', '/a//b'],
    ['/caf%C3%A9', '/caf%C3%A9'],
    // Ordinary characters for routing and upstream alike (as nginx on Unix, and gunicorn).
    ['/pub;x=1/..;/y', '/pub;x=1/..;/y'],
    ['/pub\\..\\whoami', '/pub\\..\\whoami'],
  ];
  for (const [target] of cases) assert.equal((await rawRequest(portico.port, get(target))).status, 200, target);
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    cases.map(([, sent]) => sent),
  );
  // NUL, raw or encoded, never routes.
  for (const target of ['/pub%00x', '/pub/%00/../x']) assert.equal((await rawRequest(portico.port, get(target))).status, 400, target);
  assert.equal((await rawRequest(portico.port, Buffer.from('GET /pub\0x HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1'))).status, 400);
  assert.equal(origin.requests.length, cases.length);
});

test('HTTP/2: a :path with a fragment is a 400 and reaches no upstream', async (t) => {
  const origin = await startRecordingOrigin();
  const tls = await startTlsPortico({ servers: [{ routes: routes(origin) }] });
  t.after(() => Promise.all([tls.close(), origin.close()]));
  for (const path of ['/whoami/#/../../x', '/private/#/../../x', '/x?a#b']) {
    const out = await h2Exchange(tls, { ':path': path });
    assert.equal(out.status, 400, path);
  }
  assert.equal(origin.requests.length, 0);
  const dotted = await h2Exchange(tls, { ':path': '/whoami/../pub' });
  assert.equal(dotted.status, 200);
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    ['/pub'],
  );
});

test('through gunicorn + Django: a denied route stays denied with a fragment in the target', { timeout: 120_000 }, async (t) => {
  const django = await startDjango();
  t.after(() => django.close());
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/api/whoami/', access: [{ deny: ['all'] }], ...proxyTo(django.address) },
          { path: '/', ...proxyTo(django.address) },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  const statuses: number[] = [];
  for (const target of ['/api/whoami/#/../../../x', '/api/whoami/?a#/../../../x', '/api/whoami/../whoami/#/../../../../x'])
    statuses.push((await rawRequest(portico.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)).status);
  assert.equal(django.output().split('\n').filter((l) => l.includes('whoami')).length, 0, django.output());
  assert.deepEqual(statuses, [400, 400, 400]);
});
