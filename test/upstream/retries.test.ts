// Retries across servers (nginx proxy_next_upstream): what is retried, what never is, and the
// bounds (tries, try_duration). Every pool uses policy `first` and max_fails 0, so each
// request meets the failing server first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { HostRegistry } from '../../src/upstream/host-state.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';
import { closedPort, eventually, http, json, onRequestHeads, startRawUpstream } from '../proxy/support.js';
import { createServer } from 'node:http';

type Pool = NonNullable<PorticoConfigInput['upstreams']>[string];

function pool(servers: string[], extra: Partial<Pool> = {}): Pool {
  return { servers, policy: 'first', max_fails: 0, ...extra };
}

async function portico(t: { after(fn: () => Promise<unknown>): void }, to: Pool, proxy: Record<string, unknown> = {}, clock?: FakeClock) {
  const p = await startPortico(
    { servers: [{ routes: [{ path: '/', proxy: { to, ...proxy } }] }] },
    clock ? { upstream: { clock, hosts: new HostRegistry() } } : {},
  );
  t.after(() => p.close());
  return p;
}

/** A raw upstream that reads each request head, then resets the connection. */
async function resetting(t: { after(fn: () => Promise<unknown>): void }) {
  const heads: string[] = [];
  const up = await startRawUpstream((socket) =>
    onRequestHeads(socket, (head) => {
      heads.push(head);
      setImmediate(() => socket.resetAndDestroy());
    }),
  );
  t.after(() => up.close());
  return { up, heads };
}

test('connection refused: any request goes to the next server, a POST body intact', async (t) => {
  const dead = await closedPort();
  const live = await startUpstream();
  t.after(() => live.close());
  const p = await portico(t, pool([`127.0.0.1:${dead}`, live.address]));
  assert.equal((await http(`${p.url}/get`)).status, 200);
  const body = Buffer.alloc(200_000, 'x');
  const r = await http(`${p.url}/post`, { method: 'POST', body });
  assert.equal(r.status, 200);
  assert.equal(json<{ bodyLength: number }>(r).bodyLength, body.length);
  assert.equal(live.seen.at(-1)!.body.equals(body), true);
});

test('reset after the request was sent: GET, bodiless DELETE and a buffered PUT body are retried; POST is not, nor a PUT whose body was streamed', async (t) => {
  const { up: bad, heads } = await resetting(t);
  const live = await startUpstream();
  t.after(() => live.close());
  const p = await portico(t, pool([bad.address, live.address]));
  assert.equal((await http(`${p.url}/a`)).status, 200);
  assert.equal((await http(`${p.url}/b`, { method: 'DELETE' })).status, 200);
  assert.equal((await http(`${p.url}/c`, { method: 'POST', body: 'pay once' })).status, 502);
  assert.equal((await http(`${p.url}/d`, { method: 'POST' })).status, 502);
  // PUT is idempotent, and request buffering (on by default) kept its body for another try.
  const put = Buffer.alloc(300_000, 'p');
  assert.equal((await http(`${p.url}/e`, { method: 'PUT', body: put })).status, 200);
  assert.equal(live.seen.at(-1)!.body.equals(put), true, 'the body sent again whole');
  // Streamed to the failed server (buffering off), it cannot be read twice.
  const streamed = await portico(t, pool([bad.address, live.address]), { buffering: { request: false } });
  assert.equal((await http(`${streamed.url}/f`, { method: 'PUT', body: 'x'.repeat(1000) })).status, 502);
  assert.deepEqual(
    live.seen.map((s) => `${s.method} ${s.url}`),
    ['GET /a', 'DELETE /b', 'PUT /e'],
  );
  assert.equal(heads.length, 6, 'every request met the failing server first');
});

test("retry.on non_idempotent (nginx's): a POST is sent again once sent, its buffered body whole; never a streamed one", async (t) => {
  const { up: bad, heads } = await resetting(t);
  const live = await startUpstream();
  t.after(() => live.close());
  const on = { retry: { on: ['error', 'timeout', 'non_idempotent'] } };
  const p = await portico(t, pool([bad.address, live.address], on));
  const body = Buffer.alloc(200_000, 'q');
  assert.equal((await http(`${p.url}/pay`, { method: 'POST', body })).status, 200);
  assert.equal(live.seen.at(-1)!.body.equals(body), true);
  const streamed = await portico(t, pool([bad.address, live.address], on), { buffering: { request: false } });
  assert.equal((await http(`${streamed.url}/pay`, { method: 'POST', body })).status, 502);
  assert.equal(live.seen.length, 1);
  assert.equal(heads.length, 2);
});

test('503 from a server: retried for idempotent methods only when retry.on says so', async (t) => {
  const unavailable = await startUpstream((_q, res) => res.writeHead(503, { 'X-From': 'sick' }).end('sick'));
  const live = await startUpstream();
  t.after(() => Promise.all([unavailable.close(), live.close()]));
  const on = await portico(t, pool([unavailable.address, live.address], { retry: { on: ['error', 'timeout', 'http_503'] } }));
  const off = await portico(t, pool([unavailable.address, live.address]));
  const got = await http(`${on.url}/x`);
  assert.equal(got.status, 200);
  assert.equal(got.headers['x-from'], undefined, 'nothing of the dropped 503 reaches the client');
  assert.equal((await http(`${on.url}/y`, { method: 'POST', body: 'once' })).status, 503);
  assert.equal((await http(`${off.url}/z`)).status, 503);
  assert.deepEqual(
    live.seen.map((s) => `${s.method} ${s.url}`),
    ['GET /x'],
  );
});

test('retry.tries bounds the servers tried', async (t) => {
  const bad = [await resetting(t), await resetting(t), await resetting(t)];
  const p = await portico(t, pool(bad.map((b) => b.up.address), { retry: { tries: 2 } }));
  assert.equal((await http(`${p.url}/`)).status, 502);
  assert.deepEqual(
    bad.map((b) => b.heads.length),
    [1, 1, 0],
  );
});

test('retry.try_duration: no new try once it has passed since the first (fake clock)', async (t) => {
  const clock = new FakeClock();
  const slowHeads: string[] = [];
  const slow = await startRawUpstream((socket) =>
    onRequestHeads(socket, (head) => {
      slowHeads.push(head);
      clock.advance(10_000); // the first try took 10s before failing
      socket.resetAndDestroy();
    }),
  );
  const live = await startUpstream();
  t.after(() => Promise.all([slow.close(), live.close()]));
  const bounded = await portico(t, pool([slow.address, live.address], { retry: { try_duration: '10s' } }), {}, clock);
  assert.equal((await http(`${bounded.url}/late`)).status, 502);
  assert.equal(live.seen.length, 0);
  const generous = await portico(t, pool([slow.address, live.address], { retry: { try_duration: '10001ms' } }), {}, clock);
  assert.equal((await http(`${generous.url}/in-time`)).status, 200);
  assert.equal(slowHeads.length, 2);
});

test('read timeout: a GET goes to the next server, a POST gets its 504', async (t) => {
  const silent = await startUpstream(() => {}); // never answers
  const live = await startUpstream();
  t.after(() => Promise.all([silent.close(), live.close()]));
  const p = await portico(t, pool([silent.address, live.address]), { read_timeout: '200ms' });
  assert.equal((await http(`${p.url}/get`)).status, 200);
  assert.equal((await http(`${p.url}/post`, { method: 'POST', body: 'x' })).status, 504);
  assert.deepEqual(
    live.seen.map((s) => s.url),
    ['/get'],
  );
});

test('once the response has started toward the client, a failure is never retried', async (t) => {
  // Larger than what the relay holds back for a retry (64 KiB): it streams to the client at once.
  const partial = await startRawUpstream((socket) =>
    onRequestHeads(socket, () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nhalf');
      setImmediate(() => socket.resetAndDestroy());
    }),
  );
  const live = await startUpstream();
  t.after(() => Promise.all([partial.close(), live.close()]));
  const p = await portico(t, pool([partial.address, live.address]));
  await assert.rejects(http(`${p.url}/`), /aborted|socket hang up|ECONNRESET/);
  assert.equal(live.seen.length, 0);
});

test('retry.on without error: a refused connection is not retried', async (t) => {
  const dead = await closedPort();
  const live = await startUpstream();
  t.after(() => live.close());
  const p = await portico(t, pool([`127.0.0.1:${dead}`, live.address], { retry: { on: ['timeout'] } }));
  assert.equal((await http(`${p.url}/`)).status, 502);
  assert.equal(live.seen.length, 0);
});

test('an upstream dying between its response head and its body: the GET is retried on the next server, not truncated', async (t) => {
  // gunicorn writes the head and the body in two writes; a SIGKILL can fall between them.
  const dying = await startRawUpstream((socket) => {
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n');
      setImmediate(() => socket.destroy());
    });
  });
  const healthy = await startUpstream((_req, res) => res.end('from the healthy one'));
  const portico = await startPortico({
    upstreams: { app: { servers: [dying.address, healthy.address], policy: 'first' } },
    servers: [{ routes: [{ path: '/', proxy: { to: 'app', buffering: false } }] }],
  });
  t.after(() => Promise.all([portico.close(), dying.close(), healthy.close()]));
  const res = await http(`${portico.url}/page`);
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'from the healthy one');
  assert.equal(healthy.seen.length, 1);
});

/** Debug lines of a request put back to wait for the next round (group-balancer.ts). */
const waits = (p: { errors: Record<string, unknown>[] }) => p.errors.filter((e) => e.msg === 'waiting for an upstream to try again').length;

test('retry.try_duration: a request waits try_interval for its one server to come back, the same server tried again, a POST body intact (fake clock)', async (t) => {
  const clock = new FakeClock();
  const port = await closedPort();
  const p = await portico(t, { servers: [`127.0.0.1:${port}`], retry: { try_duration: '5s' } }, {}, clock);
  const get = http(`${p.url}/get`);
  const post = http(`${p.url}/post`, { method: 'POST', body: 'pay once' });
  // Both were refused (nothing was sent) and wait for the next round: no answer yet.
  await eventually(() => waits(p) === 2, 'both requests to wait');
  clock.advance(249);
  await eventually(() => waits(p) === 2, 'nothing before the interval');
  const seen: string[] = [];
  const app = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      res.end('back');
    });
  });
  await new Promise<void>((resolve) => app.listen(port, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => app.close(() => resolve())));
  clock.advance(1);
  const [g, q] = await Promise.all([get, post]);
  assert.deepEqual([g.status, g.body.toString(), q.status, q.body.toString()], [200, 'back', 200, 'back']);
  assert.deepEqual(seen.sort(), ['GET /get ', 'POST /post pay once']);
});

test('retry.try_duration: no try starts after it, the last failure is answered; try_interval 0 never waits (fake clock)', async (t) => {
  const clock = new FakeClock();
  const port = await closedPort();
  const p = await portico(t, { servers: [`127.0.0.1:${port}`], retry: { try_duration: '1s' } }, {}, clock);
  const res = http(`${p.url}/`);
  // Tries at 0, 250, 500 and 750 ms; one at 1000 would start at the limit.
  for (let round = 1; round <= 3; round++) {
    await eventually(() => waits(p) === round, `wait ${round}`);
    clock.advance(250);
  }
  assert.equal((await res).status, 502);
  assert.equal(waits(p), 3);

  const nginxLike = await portico(t, { servers: [`127.0.0.1:${port}`], retry: { try_duration: '1s', try_interval: '0s' } }, {}, clock);
  assert.equal((await http(`${nginxLike.url}/`)).status, 502);
  assert.equal(waits(nginxLike), 0);
});

test('retry.try_duration: a POST whose body went to a server that then failed is never sent again', async (t) => {
  const { up, heads } = await resetting(t);
  const clock = new FakeClock();
  const p = await portico(t, { servers: [up.address], retry: { try_duration: '5s' } }, {}, clock);
  assert.equal((await http(`${p.url}/pay`, { method: 'POST', body: 'once' })).status, 502);
  assert.equal(heads.length, 1);
  assert.equal(waits(p), 0);
});
