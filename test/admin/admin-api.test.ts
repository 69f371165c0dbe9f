// The admin API: /status, draining, disabling and enabling an upstream server without a
// reload (checked with real requests: a drained server gets no new request, the one in flight
// finishes), POST /reload with SIGHUP's rules, and the guards against cross-site use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { validateConfig } from '../../src/config/load.js';
import { adminRequest, getMany, scrape, setServerState, startAdminPortico, total } from './support.js';
import { makeCerts } from '../helpers/tls-certs.js';
import { X509Certificate } from 'node:crypto';
import { eventually } from '../proxy/support.js';

interface Status {
  upstreams: { name: string; servers: { address: string; state: string; in_flight: number; status: string }[] }[];
  requests_total: number;
  listeners: { port: number }[];
  version: string;
  config: { file: string | null };
}

async function status(admin: string): Promise<Status> {
  const r = await adminRequest(admin, 'GET', '/status');
  assert.equal(r.status, 200);
  return JSON.parse(r.body) as Status;
}

function server(s: Status, pool: string, address: string) {
  return s.upstreams.find((u) => u.name === pool)!.servers.find((x) => x.address === address)!;
}

/** An upstream that holds requests to /slow until release() is called. */
async function holdingUpstream(): Promise<TestUpstream & { held: number; release: () => void }> {
  const waiting: (() => void)[] = [];
  const up = await startUpstream((req, res) => {
    const answer = () => res.end('done');
    if (req.url === '/slow') waiting.push(answer);
    else answer();
  });
  Object.defineProperty(up, 'held', { get: () => waiting.length });
  return Object.assign(up as TestUpstream & { held: number }, { release: () => waiting.splice(0).forEach((fn) => fn()) });
}

test('a drained server gets no new request, finishes the one in flight, and comes back when enabled', async (t) => {
  const a = await holdingUpstream();
  const b = await holdingUpstream();
  t.after(() => Promise.all([a.close(), b.close()]));
  const p = await startAdminPortico({
    upstreams: { app: { servers: [a.address, b.address] } },
    servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }],
  });
  t.after(() => p.close());
  await getMany(`${p.url}/x`, 20);
  assert.ok(a.seen.length > 0 && b.seen.length > 0, 'round robin uses both');

  // One request held on a, then a is drained.
  const slow: Promise<Response>[] = [];
  while (a.held === 0) {
    slow.push(fetch(`${p.url}/slow`));
    await eventually(() => a.held + b.held === slow.length, 'the slow request reached an upstream');
  }
  b.release();
  const r = await setServerState(p.admin, 'app', a.address, 'draining');
  assert.equal(r.status, 200, r.body);
  let s = await status(p.admin);
  assert.equal(server(s, 'app', a.address).state, 'draining');
  assert.equal(server(s, 'app', a.address).in_flight, 1);
  assert.equal(server(s, 'app', a.address).status, 'draining');

  const seenA = a.seen.length;
  const seenB = b.seen.length;
  const statuses = await getMany(`${p.url}/y`, 40);
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.equal(a.seen.length, seenA, 'the drained server got no new request');
  assert.equal(b.seen.length, seenB + 40);

  // The request in flight finishes normally.
  a.release();
  for (const res of await Promise.all(slow)) {
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'done');
  }
  s = await status(p.admin);
  assert.equal(server(s, 'app', a.address).state, 'drained');

  // Disabled: the same for routing; enabled: back in the rotation.
  assert.equal((await setServerState(p.admin, 'app', a.address, 'disabled')).status, 200);
  await getMany(`${p.url}/z`, 10);
  assert.equal(a.seen.length, seenA);
  assert.equal((await setServerState(p.admin, 'app', a.address, 'up')).status, 200);
  await getMany(`${p.url}/w`, 10, 1);
  assert.ok(a.seen.length >= seenA + 4, 'enabled again, it takes its share');
  assert.equal(server(await status(p.admin), 'app', a.address).state, 'up');
  // Every change is logged with who asked.
  const changes = p.errors.filter((e) => e.msg === 'upstream server state changed through the admin API');
  assert.deepEqual(changes.map((e) => e.state), ['draining', 'disabled', 'up']);
  assert.match(String(changes[0]!.by), /^127\.0\.0\.1:\d+$/);
});

test('draining the only server of a pool answers 503 until it is enabled', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const p = await startAdminPortico({ servers: [{ routes: [{ path: '/solo/', proxy: { to: up.address } }] }] });
  t.after(() => p.close());
  assert.equal((await fetch(`${p.url}/solo/a`)).status, 200);
  const pool = 'servers[0].routes[0] /solo/';
  assert.equal((await setServerState(p.admin, pool, up.address, 'draining')).status, 200);
  const seen = up.seen.length;
  assert.equal((await fetch(`${p.url}/solo/b`)).status, 503);
  assert.equal(up.seen.length, seen);
  assert.equal((await setServerState(p.admin, pool, up.address, 'up')).status, 200);
  assert.equal((await fetch(`${p.url}/solo/c`)).status, 200);
});

test('the admin API refuses bad changes and cross-site requests', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const p = await startAdminPortico({ upstreams: { app: { servers: [up.address] } }, servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }] });
  t.after(() => p.close());
  const path = `/upstreams/app/servers/${encodeURIComponent(up.address)}`;
  const body = JSON.stringify({ state: 'draining' });
  assert.equal((await setServerState(p.admin, 'nope', up.address, 'draining')).status, 404);
  assert.equal((await setServerState(p.admin, 'app', '127.0.0.1:1', 'draining')).status, 404);
  assert.equal((await setServerState(p.admin, 'app', up.address, 'sleeping')).status, 400);
  assert.equal((await adminRequest(p.admin, 'POST', path, body, { 'Content-Type': 'text/plain' })).status, 415);
  assert.equal((await adminRequest(p.admin, 'POST', path, body, { Origin: 'http://evil.example' })).status, 403);
  // DNS rebinding: a page whose name resolves to 127.0.0.1 still sends its own Host.
  assert.equal((await adminRequest(p.admin, 'GET', '/status', undefined, { Host: 'evil.example:2019' })).status, 403);
  assert.equal((await adminRequest(p.admin, 'GET', path)).status, 405);
  assert.equal((await adminRequest(p.admin, 'GET', '/nope')).status, 404);
  // None of these changed anything.
  assert.equal(server(await status(p.admin), 'app', up.address).state, 'up');
  assert.equal((await fetch(`${p.url}/`)).status, 200);
});

test('/status lists version, listeners, pools and counts', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const p = await startAdminPortico({ upstreams: { app: { servers: [up.address] } }, servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }] });
  t.after(() => p.close());
  const before = (await status(p.admin)).requests_total;
  await getMany(`${p.url}/`, 5);
  const s = await status(p.admin);
  assert.match(s.version, /^\d+\.\d+\.\d+/);
  assert.equal(s.listeners[0]!.port, p.port);
  assert.equal(s.requests_total - before, 5);
  assert.equal(server(s, 'app', up.address).status, 'available');
});

test('POST /reload serves the new file, or keeps the running config and says why', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portico-admin-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'portico.yaml');
  const yaml = (body: string) => `admin: { listen: 127.0.0.1:0 }\naccess_log: false\nservers:\n  - listen: 127.0.0.1:0\n    routes:\n      - path: /\n        respond: { body: ${body} }\n`;
  writeFileSync(file, yaml('one'));
  delete process.env.PORTICO_ADMIN;
  const { config } = await loadConfigFile(file);
  const server = await startServer(config, { errorLog: silentLog(), file });
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.addresses[0]!.port}/`;
  const admin = server.admin!.address;
  assert.equal(await (await fetch(url)).text(), 'one');
  writeFileSync(file, yaml('two'));
  const ok = await adminRequest(admin, 'POST', '/reload', '{}');
  assert.equal(ok.status, 200, ok.body);
  assert.equal(await (await fetch(url)).text(), 'two');
  writeFileSync(file, yaml('three') + '    bogus: 1\n');
  const bad = await adminRequest(admin, 'POST', '/reload', '{}');
  assert.equal(bad.status, 400);
  assert.match((JSON.parse(bad.body) as { problems: string[] }).problems.join('\n'), /bogus/);
  assert.equal(await (await fetch(url)).text(), 'two', 'the running config stays');
});

test('a non-loopback admin address needs admin.allow', () => {
  assert.throws(() => validateConfig({ admin: { listen: '0.0.0.0:2019' }, servers: [{ routes: [{ path: '/', respond: {} }] }] }, 't'), /admin\.allow/);
  assert.throws(() => validateConfig({ admin: { listen: ':2019' }, servers: [{ routes: [{ path: '/', respond: {} }] }] }, 't'), /admin\.allow/);
  validateConfig({ admin: { listen: '0.0.0.0:2019', allow: ['10.0.0.0/8'] }, servers: [{ routes: [{ path: '/', respond: {} }] }] }, 't');
  validateConfig({ admin: { listen: 'unix:/run/portico-admin.sock' }, servers: [{ routes: [{ path: '/', respond: {} }] }] }, 't');
  validateConfig({ admin: 'off', servers: [{ routes: [{ path: '/', respond: {} }] }] }, 't');
});

test('certificates in use: their names and expiry in /metrics and /status', async (t) => {
  const certs = makeCerts(['DNS:site.test', 'DNS:www.site.test']);
  t.after(() => certs.cleanup());
  const p = await startAdminPortico({
    servers: [{ hosts: ['site.test'], tls: { cert: join(certs.dir, 'server.pem'), key: join(certs.dir, 'server.key') }, routes: [{ path: '/', respond: { body: 'x' } }] }],
  });
  t.after(() => p.close());
  const notAfter = new X509Certificate(certs.cert).validTo;
  const expected = Math.floor(new Date(notAfter).getTime() / 1000);
  const m = await scrape(p.admin);
  assert.equal(total(m, 'portico_tls_certificate_expiry_timestamp_seconds', { server: 'servers[0]', name: 'site.test' }), expected);
  assert.equal(total(m, 'portico_tls_certificate_expiry_timestamp_seconds', { name: 'www.site.test' }), expected);
  const s = JSON.parse((await adminRequest(p.admin, 'GET', '/status')).body) as { certificates: { names: string[]; expires_in_days: number }[] };
  assert.deepEqual(s.certificates[0]!.names, ['site.test', 'www.site.test']);
  assert.ok(s.certificates[0]!.expires_in_days <= 2);
});
