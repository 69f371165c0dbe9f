// Pool lifecycle: health checks start with the server and stop with it; host state lives per
// address in a registry, so a second config using the same servers (a reload) inherits it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { HostRegistry } from '../../src/upstream/host-state.js';
import { CheckerRegistry } from '../../src/upstream/health/active.js';
import { compile } from '../../src/compile/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { silentLog } from '../../src/log/error-log.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';
import { eventually, http } from '../proxy/support.js';

async function healthToggle() {
  const state = { healthy: true };
  const up = await startUpstream((req, res) => {
    if (req.url === '/healthz') return void res.writeHead(state.healthy ? 200 : 503).end();
    res.setHeader('X-Upstream', String(up.port));
    res.end('app');
  });
  return { up, state };
}

test('active checks start when Portico starts and stop when it closes; host states are released', async (t) => {
  const { up } = await healthToggle();
  t.after(() => up.close());
  const hosts = new HostRegistry();
  const checkers = new CheckerRegistry();
  const portico = await startPortico(
    {
      upstreams: { app: { servers: [up.address, '127.0.0.1:9'], health_check: { path: '/healthz', interval: '1h' } } },
      servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }],
    },
    { upstream: { hosts, checkers } },
  );
  assert.equal(checkers.size, 2);
  await eventually(() => up.seen.some((s) => s.url === '/healthz'), 'the first check, at start');
  assert.equal(hosts.size, 2);
  await portico.close();
  assert.equal(checkers.size, 0);
  assert.equal(hosts.size, 0);
});

test('a failing check takes a server out, a passing one brings it back (fake clock)', async (t) => {
  const a = await healthToggle();
  const b = await healthToggle();
  t.after(() => Promise.all([a.up.close(), b.up.close()]));
  const clock = new FakeClock();
  const checkers = new CheckerRegistry();
  const portico = await startPortico(
    {
      upstreams: { app: { servers: [a.up.address, b.up.address], health_check: { path: '/healthz', interval: '5s', passes: 2 } } },
      servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }],
    },
    { upstream: { clock, hosts: new HostRegistry(), checkers } },
  );
  t.after(() => portico.close());
  const checksOf = (x: typeof a) => x.up.seen.filter((s) => s.url === '/healthz').length;
  const served = async () => {
    const got = new Set<string>();
    for (let i = 0; i < 6; i++) got.add(String((await http(`${portico.url}/`)).headers['x-upstream']));
    return [...got].sort();
  };
  await eventually(() => checksOf(a) === 1 && checksOf(b) === 1, 'the first checks');
  assert.deepEqual(await served(), [String(a.up.port), String(b.up.port)].sort());

  a.state.healthy = false;
  clock.advance(5_000);
  await eventually(() => checksOf(a) === 2, 'the second check');
  await eventually(() => portico.errors.some((e) => e.msg === 'upstream unhealthy'), 'the unhealthy log line');
  assert.deepEqual(await served(), [String(b.up.port)]);

  a.state.healthy = true;
  clock.advance(5_000);
  await eventually(() => checksOf(a) === 3, 'the third check');
  assert.deepEqual(await served(), [String(b.up.port)], 'one pass of the two required');
  clock.advance(5_000);
  await eventually(() => portico.errors.some((e) => e.msg === 'upstream healthy again'), 'the healthy log line');
  assert.deepEqual(await served(), [String(a.up.port), String(b.up.port)].sort());
});

/** A health-checked upstream and the registries a reload carries over, on a fake clock. */
async function reloadFixture(t: { after: (fn: () => unknown) => void }) {
  const { up } = await healthToggle();
  t.after(() => up.close());
  return { up, hosts: new HostRegistry(), checkers: new CheckerRegistry(), clock: new FakeClock() };
}

test('a reload keeps host state and running checks for the servers it still uses', async (t) => {
  const { up, hosts, checkers, clock } = await reloadFixture(t);
  const config = (extra: string[]) =>
    validateConfig(
      {
        upstreams: { app: { servers: [up.address, ...extra], health_check: { path: '/healthz', interval: '5s' } } },
        servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }],
      },
      'reload.yaml',
    );
  const deps = { log: silentLog(), upstream: { hosts, checkers, clock } };
  const before = compile(config([]), deps);
  before.groups.start();
  const state = hosts.get(up.address)!;
  state.fails = 2;
  state.inFlight = 1;
  await eventually(() => up.seen.length === 1, 'the first check');

  const after = compile(config(['127.0.0.1:9']), deps);
  after.groups.start();
  before.groups.close();
  before.pools.destroy();
  assert.equal(hosts.get(up.address), state, 'the same state object');
  assert.equal(state.fails, 2);
  assert.equal(state.inFlight, 1);
  assert.equal(checkers.size, 2);
  assert.equal(up.seen.length, 1, 'the running checker was kept, not restarted');
  clock.advance(5_000);
  await eventually(() => up.seen.length === 2, 'the kept checker goes on');

  after.groups.close();
  after.pools.destroy();
  assert.equal(hosts.size, 0);
  assert.equal(checkers.size, 0);
});

test('a running server reloaded (server.reload): the new routes serve at once, an address both configs use keeps its state and its checker', async (t) => {
  const { up, hosts, checkers, clock } = await reloadFixture(t);
  type Routes = PorticoConfigInput['servers'][number]['routes'];
  const input = (extra: string[], routes: Routes): PorticoConfigInput => ({
    access_log: false as const,
    upstreams: { app: { servers: [up.address, ...extra], health_check: { path: '/healthz', interval: '5s' } } },
    servers: [{ listen: ['127.0.0.1:0'], routes }],
  });
  const portico = await startPortico(input([], [{ path: '/', proxy: { to: 'app' } }]), { upstream: { hosts, checkers, clock } });
  let closed = false;
  t.after(() => (closed ? undefined : portico.close()));
  await eventually(() => up.seen.filter((s) => s.url === '/healthz').length === 1, 'the first check');
  const state = hosts.get(up.address)!;
  state.fails = 1;

  portico.server.reload(validateConfig(input(['127.0.0.1:9'], [{ path: '= /v2', respond: { body: 'v2' } }, { path: '/', proxy: { to: 'app' } }]), 'reload.yaml'));
  assert.equal(hosts.get(up.address), state, 'the same host state');
  assert.equal(state.fails, 1);
  assert.equal(checkers.size, 2, 'the kept checker and the new server\'s');
  assert.equal(up.seen.filter((s) => s.url === '/healthz').length, 1, 'the running checker was kept, not restarted');
  assert.equal(String((await http(`${portico.url}/v2`)).body), 'v2', 'the new route');
  assert.equal(String((await http(`${portico.url}/x`)).body), 'app', 'the pool');

  // Changing what needs a restart is refused and changes nothing.
  const moved = input([], [{ path: '/', respond: { body: 'moved' } }]);
  moved.servers[0]!.listen = ['127.0.0.1:1'];
  assert.throws(() => portico.server.reload(validateConfig(moved, 'reload.yaml')), /servers\[0\]\.listen changed, which needs a restart/);
  assert.equal(String((await http(`${portico.url}/v2`)).body), 'v2');

  await portico.close();
  closed = true;
  assert.equal(checkers.size, 0, 'every checker stopped');
  assert.equal(hosts.size, 0, 'every host state released');
});

test('the host registry is readable as a snapshot for a status page', () => {
  const hosts = new HostRegistry();
  const s = hosts.acquire('127.0.0.1:8001');
  s.begin();
  s.healthy = false;
  assert.deepEqual(hosts.snapshot(), [{ address: '127.0.0.1:8001', admin: 'up', healthy: false, inFlight: 1, fails: 0, requests: 1, failures: 0 }]);
  hosts.release('127.0.0.1:8001');
  assert.equal(hosts.size, 0);
});
