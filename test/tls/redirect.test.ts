// The automatic HTTP->HTTPS redirect of a TLS server, and what it leaves alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico } from '../helpers/portico.js';
import { tempDir } from '../helpers/tls.js';
import { http } from '../proxy/support.js';
import { freePort } from '../helpers/django.js';

async function setup(t: { after(fn: () => unknown): void }, extra: Record<string, unknown>[] = []) {
  const dir = await tempDir(t);
  const portico = await startPortico({
    data_dir: dir,
    servers: [
      { hosts: ['app.localhost'], tls: 'internal', hsts: true, http_redirect: '127.0.0.1:0', routes: [{ path: '/', respond: { body: 'secure\n' } }] },
      ...extra,
    ] as never,
  });
  t.after(() => portico.close());
  const httpPort = portico.server.addresses.find((a) => !a.tls)!.port;
  return { portico, httpPort };
}

test('GET and POST on the redirect listener get 308 to the same host and target on the HTTPS port, without HSTS', async (t) => {
  const { portico, httpPort } = await setup(t);
  for (const method of ['GET', 'POST', 'DELETE']) {
    const res = await http(`http://127.0.0.1:${httpPort}/a/b?c=d`, { method, headers: { host: `app.localhost:${httpPort}` }, body: method === 'POST' ? 'x' : undefined });
    assert.equal(res.status, 308, method);
    assert.equal(res.headers.location, `https://app.localhost:${portico.port}/a/b?c=d`);
    assert.equal(res.headers['strict-transport-security'], undefined, 'HSTS is never sent over plain HTTP (RFC 6797 §7.2)');
  }
});

test('/.well-known/acme-challenge/ is not redirected (404 for a token nobody is waiting for)', async (t) => {
  const { httpPort } = await setup(t);
  const res = await http(`http://127.0.0.1:${httpPort}/.well-known/acme-challenge/abc`, { headers: { host: `app.localhost:${httpPort}` } });
  assert.equal(res.status, 404);
});

test('a plain server the config defines on the redirect address keeps its own hosts', async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  const portico = await startPortico({
    data_dir: dir,
    servers: [
      { listen: [`127.0.0.1:${port}`], hosts: ['plain.localhost'], routes: [{ path: '/', respond: { body: 'plain\n' } }] },
      { hosts: ['app.localhost', 'plain.localhost'], tls: 'internal', http_redirect: `127.0.0.1:${port}`, routes: [{ path: '/', respond: {} }] },
    ],
  });
  t.after(() => portico.close());
  const plain = await http(`http://127.0.0.1:${port}/`, { headers: { host: 'plain.localhost' } });
  assert.equal(plain.status, 200);
  assert.equal(plain.body.toString(), 'plain\n');
  const app = await http(`http://127.0.0.1:${port}/x`, { headers: { host: 'app.localhost' } });
  assert.equal(app.status, 308);
  assert.equal(app.headers.location, `https://app.localhost:${portico.server.addresses.find((a) => a.tls)!.port}/x`);
  // The first server listed on the address stays its default, as in nginx.
  const unknown = await http(`http://127.0.0.1:${port}/`, { headers: { host: 'unknown.example' } });
  assert.equal(unknown.body.toString(), 'plain\n');
});
