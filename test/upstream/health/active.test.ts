// Active health checks against real servers on loopback; time (interval, timeout) on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthChecker, type ActiveCheckConfig } from '../../../src/upstream/health/active.js';
import { HostState } from '../../../src/upstream/host-state.js';
import { transportFor } from '../../../src/upstream/transport.js';
import { parseUpstream } from '../../../src/config/address.js';
import { startUpstream } from '../../helpers/upstream.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { eventually } from '../../proxy/support.js';
import { createServer, type AddressInfo } from 'node:net';
import { validateConfig } from '../../../src/config/load.js';

const base: ActiveCheckConfig = { path: '/healthz', interval: 5_000, timeout: 2_000, status: [200, 399], body: undefined, passes: 1, fails: 1, headers: [] };

async function healthServer() {
  const health = { status: 200, body: 'ok' };
  const up = await startUpstream((req, res) => {
    if (req.url === '/hang') return; // never answers
    res.writeHead(health.status, { 'Content-Type': 'text/plain' });
    res.end(health.body);
  });
  return { up, health };
}

function checker(address: string, cfg: Partial<ActiveCheckConfig>, clock = new FakeClock(), port?: number) {
  const state = new HostState(address);
  const changes: string[] = [];
  const c = new HealthChecker(transportFor(parseUpstream(address)!, undefined, port), { ...base, ...cfg }, state, clock, {
    changed: (_s, healthy, reason) => changes.push(`${healthy ? 'healthy' : 'unhealthy'}: ${reason}`),
  });
  return { c, state, changes, clock };
}

test('fails consecutive failures make a server unhealthy, passes consecutive passes make it healthy', async (t) => {
  const { up, health } = await healthServer();
  t.after(() => up.close());
  const { c, state, changes } = checker(up.address, { passes: 2, fails: 2 });
  assert.equal(await c.checkNow(), true);
  health.status = 503;
  assert.equal(await c.checkNow(), false);
  assert.equal(state.healthy, true, 'one failure of two');
  assert.equal(await c.checkNow(), false);
  assert.equal(state.healthy, false);
  health.status = 200;
  assert.equal(await c.checkNow(), true);
  assert.equal(state.healthy, false, 'one pass of two');
  assert.equal(await c.checkNow(), true);
  assert.equal(state.healthy, true);
  assert.deepEqual(changes, ['unhealthy: status 503', 'healthy: status 200']);
});

test('a pass that makes the server healthy also clears its passive failures', async (t) => {
  const { up, health } = await healthServer();
  t.after(() => up.close());
  const { c, state } = checker(up.address, {});
  health.status = 500;
  await c.checkNow();
  state.fails = 3;
  health.status = 200;
  await c.checkNow();
  assert.equal(state.healthy, true);
  assert.equal(state.fails, 0);
});

test('status range and body text: outside the range or without the text is a failure', async (t) => {
  const { up, health } = await healthServer();
  t.after(() => up.close());
  const { c } = checker(up.address, { status: [200, 299], body: 'database: up' });
  health.body = 'database: up, cache: up';
  assert.equal(await c.checkNow(), true);
  health.body = 'database: down';
  assert.equal(await c.checkNow(), false);
  health.body = 'database: up';
  health.status = 302;
  assert.equal(await c.checkNow(), false, '302 is outside 200-299');
});

test('the check goes to the path with the server address as Host, plus configured headers', async (t) => {
  const { up } = await healthServer();
  t.after(() => up.close());
  await checker(up.address, { path: '/healthz?full=1', headers: ['X-Check', 'portico'] }).c.checkNow();
  const seen = up.seen.at(-1)!;
  assert.equal(seen.url, '/healthz?full=1');
  assert.equal(seen.headers.host, up.address);
  assert.equal(seen.headers['x-check'], 'portico');
  assert.equal(seen.headers['user-agent'], 'portico-health-check');
  await checker(up.address, { headers: ['Host', 'app.internal'] }).c.checkNow();
  assert.equal(up.seen.at(-1)!.headers.host, 'app.internal');
});

test('a separate health port is checked instead of the server port', async (t) => {
  const app = await startUpstream((_q, res) => res.writeHead(500).end());
  const health = await healthServer();
  t.after(() => Promise.all([app.close(), health.up.close()]));
  const { c } = checker(app.address, {}, new FakeClock(), health.up.port);
  assert.equal(await c.checkNow(), true);
  assert.equal(app.seen.length, 0);
  assert.equal(health.up.seen.length, 1);
});

test('a refused connection fails the check', async (t) => {
  const { up } = await healthServer();
  const address = up.address;
  await up.close();
  const { c, state, changes } = checker(address, {});
  t.after(() => c.stop());
  assert.equal(await c.checkNow(), false);
  assert.equal(state.healthy, false);
  assert.match(changes[0]!, /ECONNREFUSED/);
});

test('a server that does not answer within timeout fails the check (fake clock)', async (t) => {
  const { up } = await healthServer();
  t.after(() => up.close());
  const { c, clock } = checker(up.address, { path: '/hang', timeout: 2_000 });
  const verdict = c.checkNow();
  await eventually(() => up.seen.length === 1, 'the check request');
  clock.advance(1_999);
  clock.advance(1);
  assert.equal(await verdict, false);
});

test('start() checks at once and then every interval; stop() ends it', async (t) => {
  const { up } = await healthServer();
  t.after(() => up.close());
  const { c, clock } = checker(up.address, { interval: 5_000 });
  c.start();
  await eventually(() => c.checks === 1, 'the first check');
  assert.equal(up.seen.length, 1);
  clock.advance(4_999);
  assert.equal(up.seen.length, 1, 'not before the interval');
  clock.advance(1);
  await eventually(() => c.checks === 2, 'the second check');
  c.stop();
  assert.equal(c.running, false);
  clock.advance(60_000);
  assert.equal(clock.pending, 0, 'no timer left');
  assert.equal(c.checks, 2);
});

test('method HEAD: the status decides; a server sending a body anyway is read until it closes; a timeout still fails', async (t) => {
  const { up, health } = await healthServer();
  t.after(() => up.close());
  const { c, clock } = checker(up.address, { method: 'HEAD' });
  assert.equal(await c.checkNow(), true);
  assert.equal(up.seen.at(-1)!.method, 'HEAD');
  health.status = 503;
  assert.equal(await c.checkNow(), false);
  // gunicorn 20 writes a WSGI app's body after a HEAD response: the probe reads to the close.
  const raw = createServer((s) => {
    s.once('data', () => s.end(`HTTP/1.1 204 No Content\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n${'x'.repeat(100_000)}`));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  t.after(() => raw.close());
  const port = (raw.address() as AddressInfo).port;
  assert.equal(await checker(`127.0.0.1:${port}`, { method: 'HEAD' }).c.checkNow(), true);
  const hang = checker(up.address, { method: 'HEAD', path: '/hang', timeout: 2_000 }, clock);
  const verdict = hang.c.checkNow();
  await eventually(() => up.seen.some((r) => r.url === '/hang'), 'the HEAD check of /hang');
  clock.advance(2_000);
  assert.equal(await verdict, false);
});

test('a HEAD check cannot look for body text (config)', () => {
  assert.throws(
    () => validateConfig({ upstreams: { a: { servers: ['127.0.0.1:1'], health_check: { method: 'HEAD', body: 'ok' } } }, servers: [{ routes: [{ path: '/', proxy: { to: 'a' } }] }] }, 'x.yaml'),
    /health_check\.body: a HEAD response has no body to look in; use method: GET/,
  );
});
