// Client-address routing: routes sharing a path, chosen by `match.remote_ip`, from real client
// addresses on loopback (127.0.0.2 and 127.0.0.3 are local on Linux).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startPortico } from '../helpers/portico.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** GET from a chosen local address; resolves with status and the X-Upstream header. */
function getFrom(localAddress: string, port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; upstream: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, upstream: res.headers['x-upstream'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function named(name: string): Promise<TestUpstream> {
  return startUpstream((_req, res) => {
    res.setHeader('X-Upstream', name);
    res.end(name);
  });
}

test('two routes on one path, remote_ip: each office reaches its own backend; anyone else falls through', async (t) => {
  const office1 = await named('streamlit-8501');
  const office2 = await named('streamlit-8502');
  const site = await named('site');
  t.after(() => Promise.all([office1.close(), office2.close(), site.close()]));
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/app/', match: { remote_ip: ['127.0.0.2/32'] }, proxy: { to: office1.address } },
          { path: '/app/', match: { remote_ip: ['127.0.0.3', '10.20.0.0/16'] }, proxy: { to: office2.address } },
          { path: '/', proxy: { to: site.address } },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await getFrom('127.0.0.2', portico.port, '/app/'), { status: 200, upstream: 'streamlit-8501' });
    assert.deepEqual(await getFrom('127.0.0.3', portico.port, '/app/x'), { status: 200, upstream: 'streamlit-8502' });
  }
  // Neither office: the /app/ location has no route for it, so the next best location serves.
  assert.deepEqual(await getFrom('127.0.0.1', portico.port, '/app/'), { status: 200, upstream: 'site' });
  assert.equal(office1.seen.length, 3);
  assert.equal(office2.seen.length, 3);
});

test('remote_ip honours trusted_proxies: behind a trusted proxy the forwarded client address decides', async (t) => {
  const inside = await named('inside');
  const outside = await named('outside');
  t.after(() => Promise.all([inside.close(), outside.close()]));
  const portico = await startPortico({
    servers: [
      {
        trusted_proxies: ['127.0.0.2'],
        routes: [
          { path: '/', match: { remote_ip: ['10.20.0.0/16'] }, proxy: { to: inside.address } },
          { path: '/', proxy: { to: outside.address } },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  const xff = { 'X-Forwarded-For': '10.20.3.4' };
  assert.equal((await getFrom('127.0.0.2', portico.port, '/', xff)).upstream, 'inside', 'trusted proxy: its X-Forwarded-For is believed');
  assert.equal((await getFrom('127.0.0.3', portico.port, '/', xff)).upstream, 'outside', 'untrusted peer: a forged X-Forwarded-For is ignored');
  assert.equal((await getFrom('127.0.0.2', portico.port, '/')).upstream, 'outside');
});

test('a location whose routes all have match conditions and none holds: 404 when nothing else matches', async (t) => {
  const only = await named('only');
  t.after(() => only.close());
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', match: { remote_ip: ['127.0.0.2'] }, proxy: { to: only.address } }] }],
  });
  t.after(() => portico.close());
  assert.equal((await getFrom('127.0.0.2', portico.port, '/')).status, 200);
  assert.equal((await getFrom('127.0.0.3', portico.port, '/')).status, 404);
});
