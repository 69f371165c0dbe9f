// Upstream pools over real sockets: named and inline pools, weights, backup, down, max_conns
// with its wait queue, and the 503 when no server is available.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startPortico } from '../helpers/portico.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { HostRegistry } from '../../src/upstream/host-state.js';
import { closedPort, eventually, http, rawRequest } from '../proxy/support.js';

/** n echo upstreams answering with their own name. */
async function upstreams(t: { after(fn: () => Promise<unknown>): void }, n: number): Promise<TestUpstream[]> {
  const list = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      startUpstream((_req, res) => {
        res.setHeader('X-Upstream', String(i));
        res.end(`upstream ${i}`);
      }),
    ),
  );
  t.after(() => Promise.all(list.map((u) => u.close())));
  return list;
}

test('a named pool shared by two routes: smooth weighted round robin over both, shares exactly as the weights', async (t) => {
  const [a, b, c] = await upstreams(t, 3);
  const portico = await startPortico({
    upstreams: {
      app: {
        servers: [
          { address: a!.address, weight: 1 },
          { address: b!.address, weight: 2 },
          { address: c!.address, weight: 3 },
        ],
      },
    },
    servers: [{ routes: [{ path: '/one/', proxy: { to: 'app' } }, { path: '/two/', proxy: { to: 'app' } }] }],
  });
  t.after(() => portico.close());
  for (let i = 0; i < 300; i++) {
    const r = await http(`${portico.url}/${i % 2 ? 'one' : 'two'}/${i}`);
    assert.equal(r.status, 200);
  }
  // One policy state for the pool, whichever route the requests came through.
  assert.deepEqual([a!.seen.length, b!.seen.length, c!.seen.length], [50, 100, 150]);
});

test('an inline list of servers is a round-robin pool; an inline pool takes any pool option', async (t) => {
  const [a, b, c] = await upstreams(t, 3);
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/list/', proxy: { to: [a!.address, b!.address] } },
          { path: '/first/', proxy: { to: { servers: [c!.address, a!.address], policy: 'first' } } },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  const order: string[] = [];
  for (let i = 0; i < 4; i++) order.push(String((await http(`${portico.url}/list/`)).headers['x-upstream']));
  assert.deepEqual(order, ['0', '1', '0', '1']);
  for (let i = 0; i < 3; i++) assert.equal((await http(`${portico.url}/first/`)).headers['x-upstream'], '2');
});

test('backup servers get traffic only while no primary is available; down servers never', async (t) => {
  const [primary, backup, down] = await upstreams(t, 3);
  const portico = await startPortico({
    servers: [
      {
        routes: [
          {
            path: '/',
            proxy: {
              to: {
                servers: [primary!.address, { address: down!.address, down: true }, { address: backup!.address, backup: true }],
              },
            },
          },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  for (let i = 0; i < 4; i++) assert.equal((await http(`${portico.url}/`)).headers['x-upstream'], '0');
  await primary!.close();
  for (let i = 0; i < 4; i++) {
    const r = await http(`${portico.url}/`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-upstream'], '1');
  }
  assert.equal(down!.seen.length, 0);
});

/** An upstream that holds every request until the test releases it. */
async function holdingUpstream(t: { after(fn: () => Promise<unknown>): void }) {
  const held: ServerResponse[] = [];
  const up = await startUpstream((_req, res) => held.push(res));
  t.after(() => up.close());
  return {
    up,
    held,
    release() {
      for (const res of held.splice(0)) res.end('released');
    },
  };
}

test('max_conns: a request beyond the limit waits in the queue; a full queue is a 503 at once', async (t) => {
  const { up, held, release } = await holdingUpstream(t);
  const [other] = await upstreams(t, 1);
  const portico = await startPortico({
    servers: [
      {
        routes: [
          {
            path: '/',
            proxy: { to: { servers: [{ address: up.address, max_conns: 1 }, { address: other!.address, down: true }], queue: { size: 1 } } },
          },
        ],
      },
    ],
  });
  t.after(() => portico.close());
  const first = http(`${portico.url}/1`);
  await eventually(() => held.length === 1, 'the first request upstream');
  const second = http(`${portico.url}/2`);
  // The second is queued (not at the upstream); the third finds the queue full.
  const third = await http(`${portico.url}/3`);
  assert.equal(third.status, 503);
  assert.equal(held.length, 1);
  assert.ok(
    portico.errors.some((e) => e.status === 503 && /at max_conns and its wait queue is full/.test(String(e.msg))),
    JSON.stringify(portico.errors),
  );
  release();
  assert.equal((await first).status, 200);
  await eventually(() => held.length === 1, 'the queued request upstream once a slot is free');
  assert.equal(up.seen.at(-1)!.url, '/2');
  release();
  assert.equal((await second).status, 200);
});

test('max_conns: a request that waits longer than queue.timeout gets 503 (fake clock)', async (t) => {
  const { up, held, release } = await holdingUpstream(t);
  const [other] = await upstreams(t, 1);
  const clock = new FakeClock();
  const portico = await startPortico(
    {
      servers: [
        {
          routes: [
            {
              path: '/',
              proxy: {
                to: {
                  servers: [{ address: up.address, max_conns: 1 }, { address: other!.address, max_conns: 1 }],
                  queue: { size: 10, timeout: '30s' },
                },
              },
            },
          ],
        },
      ],
    },
    { upstream: { clock, hosts: new HostRegistry() } },
  );
  t.after(async () => {
    release();
    await portico.close();
  });
  // Occupy the holding server; the other one answers at once, so hold it busy too.
  other!.server.removeAllListeners('request');
  other!.server.on('request', (_req, res: ServerResponse) => held.push(res));
  const busy = [http(`${portico.url}/a`), http(`${portico.url}/b`)];
  await eventually(() => held.length === 2, 'both servers busy');
  const waiting = http(`${portico.url}/c`);
  await eventually(() => clock.pending === 1, 'the request in the queue');
  clock.advance(29_999);
  assert.equal(clock.pending, 1);
  clock.advance(1);
  const r = await waiting;
  assert.equal(r.status, 503);
  assert.ok(portico.errors.some((e) => /waited 30000ms for a free upstream/.test(String(e.msg))));
  release();
  for (const b of busy) assert.equal((await b).status, 200);
});

test('no available server: 503 and one error-log line naming the pool and each server\'s state; fail_timeout later a trial', async (t) => {
  const [p1, p2] = [await closedPort(), await closedPort()];
  const clock = new FakeClock();
  const portico = await startPortico(
    {
      upstreams: { app: { servers: [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`], max_fails: 1, fail_timeout: '10s' } },
      servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }],
    },
    { upstream: { clock, hosts: new HostRegistry() } },
  );
  t.after(() => portico.close());
  // Both refuse: each is tried once, then the client gets the 502 of the last one.
  assert.equal((await http(`${portico.url}/x`)).status, 502);
  const disabled = portico.errors.filter((e) => e.msg === 'upstream server temporarily disabled');
  assert.equal(disabled.length, 2);
  const r = await http(`${portico.url}/y`);
  assert.equal(r.status, 503);
  const line = portico.errors.find((e) => e.status === 503)!;
  assert.equal(line.msg, `upstream failed: no available upstream in pool app (127.0.0.1:${p1} failed, 127.0.0.1:${p2} failed)`);
  assert.equal(line.upstream, 'app');
  assert.equal(line.uri, '/y');
  clock.advance(10_001);
  // fail_timeout is over: one trial each, which fail again (502, not 503).
  assert.equal((await http(`${portico.url}/z`)).status, 502);
  assert.equal((await http(`${portico.url}/z`)).status, 503);
});

test('HTTP/1.0 without Host through a pool: each try carries the chosen server\'s own address as Host', async (t) => {
  const dead = await closedPort();
  const [live] = await upstreams(t, 1);
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', proxy: { to: { servers: [`127.0.0.1:${dead}`, live!.address], policy: 'first', max_fails: 0 } } }] }],
  });
  t.after(() => portico.close());
  const res = await rawRequest(portico.port, 'GET /old-client HTTP/1.0\r\n\r\n');
  assert.equal(res.status, 200);
  assert.deepEqual(
    live!.seen[0]!.rawHeaders.filter((_, i, h) => i % 2 === 1 && h[i - 1]!.toLowerCase() === 'host'),
    [live!.address],
  );
});
