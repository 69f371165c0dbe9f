/**
 * Three real gunicorns (sync workers) serving the same Django behind one Portico pool, under a
 * bounded load from a small node client (6 concurrent keep-alive connections, GETs):
 *  1. the requests are spread as the weights say (1:2:3), counted in gunicorn's own access logs;
 *  2. one gunicorn is killed with SIGKILL (master and workers) mid-run: the client sees no
 *     failed GET, because requests cut off or refused are retried on the other servers;
 *  3. it is started again on the same port: once its health check passes it gets traffic again.
 * And a gunicorn bound to a unix socket, behind Portico.
 * Phases end on counts, not on time; waits are bounded so a broken build fails instead of hanging.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { prepareDjango, startGunicorn, type Gunicorn, type PreparedDjango } from '../helpers/django.js';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { eventually, http, json } from '../proxy/support.js';

const WEIGHTS = [1, 2, 3];
const CONCURRENCY = 6;

let prepared: PreparedDjango | undefined;
const gunicorns: Gunicorn[] = [];

before(async () => {
  prepared = await prepareDjango();
  for (let i = 0; i < 3; i++) gunicorns.push(await startGunicorn(prepared, { workers: 2 }));
});

after(async () => {
  for (const g of gunicorns) await g.close();
  await prepared?.cleanup();
});

interface Load {
  ok: number;
  failed: string[];
  /** Resolves when every client loop has stopped. */
  stop(): Promise<void>;
}

/** CONCURRENCY loops of GET `path`&n=… over keep-alive connections until stopped. */
function load(port: number, path: string): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let running = true;
  let n = 0;
  const state: Load = { ok: 0, failed: [], stop: async () => {} };
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: `${path}&n=${n++}`, agent, timeout: 30_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) state.ok++;
          else state.failed.push(`status ${res.statusCode}`);
          resolve();
        });
        res.on('error', (err) => {
          state.failed.push(`response: ${err.message}`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('client timeout')));
      req.on('error', (err) => {
        state.failed.push(`request: ${err.message}`);
        resolve();
      });
      req.end();
    });
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (running) await one();
  });
  state.stop = async () => {
    running = false;
    await Promise.all(loops);
    agent.destroy();
  };
  return state;
}

test('three gunicorns behind one pool: weighted spread, a SIGKILL costs no request, a restart gets traffic back after its health check', async (t) => {
  const portico: TestPortico = await startPortico({
    upstreams: {
      django: {
        servers: gunicorns.map((g, i) => ({ address: g.address, weight: WEIGHTS[i]! })),
        health_check: { path: '/api/me/?health', interval: '250ms', timeout: '2s', fails: 1, passes: 1 },
      },
    },
    servers: [{ routes: [{ path: '/', proxy: { to: 'django' } }] }],
  });
  t.after(() => portico.close());

  // 1. Distribution: a bounded run of 1200 responses with all three up.
  const phase1 = load(portico.port, '/api/me/?phase=1');
  await eventually(() => phase1.ok + phase1.failed.length >= 1200, 'phase 1 (1200 responses)', 60_000);
  await phase1.stop();
  assert.deepEqual(phase1.failed, []);
  const total1 = phase1.ok;
  // gunicorn writes its access line after the response; wait until every line is in.
  await eventually(() => gunicorns.reduce((sum, g) => sum + g.requests('/api/me/?phase=1&'), 0) === total1, 'access-log lines of phase 1', 10_000);
  const counts = gunicorns.map((g) => g.requests('/api/me/?phase=1&'));
  const shares = counts.map((c) => c / total1);
  const sum = WEIGHTS.reduce((a, b) => a + b, 0);
  t.diagnostic(`phase 1: ${total1} requests, per server ${counts.join('/')} = ${shares.map((s) => (s * 100).toFixed(1) + '%').join(' / ')}; weights 1:2:3 = 16.7% / 33.3% / 50.0%`);
  WEIGHTS.forEach((w, i) => {
    // Stated tolerance: 2 percentage points of the total (smooth weighted round robin is exact
    // per 6 picks; the slack covers nothing but requests in flight at the phase boundary).
    assert.ok(Math.abs(shares[i]! - w / sum) <= 0.02, `server ${i}: ${shares[i]} vs ${w / sum}`);
  });

  // 2. SIGKILL the heaviest server mid-run.
  const victim = gunicorns[2]!;
  const phase2 = load(portico.port, '/api/me/?phase=2');
  await eventually(() => phase2.ok >= 200, 'phase 2 under way', 60_000);
  await victim.kill('SIGKILL');
  const atKill = phase2.ok;
  await eventually(() => phase2.ok >= atKill + 800, 'phase 2: 800 responses after the kill', 60_000);
  await phase2.stop();
  t.diagnostic(`phase 2: ${phase2.ok} GETs, ${phase2.failed.length} failed; killed after ${atKill}`);
  assert.deepEqual(phase2.failed, [], 'no failed GET while a server died');
  await eventually(() => portico.errors.some((e) => e.msg === 'upstream unhealthy' && e.upstream === victim.address), 'the health check noticing', 10_000);

  // 3. Restart it on the same port: back in rotation after its check passes.
  const victimBefore = victim.requests('/api/me/?phase=3&');
  assert.equal(victimBefore, 0);
  const phase3 = load(portico.port, '/api/me/?phase=3');
  await eventually(() => phase3.ok >= 100, 'phase 3 under way', 60_000);
  await victim.start();
  await eventually(() => victim.requests('/api/me/?phase=3&') >= 30, 'the restarted server serving load again', 30_000);
  await phase3.stop();
  t.diagnostic(`phase 3: ${phase3.ok} GETs, ${phase3.failed.length} failed; restarted server served ${victim.requests('/api/me/?phase=3&')}`);
  assert.deepEqual(phase3.failed, []);
  assert.ok(portico.errors.some((e) => e.msg === 'upstream healthy again' && e.upstream === victim.address));
});

test('a gunicorn bound to a unix socket, behind Portico', async (t) => {
  const g = await startGunicorn(prepared!, { bind: 'unix', workers: 1 });
  t.after(() => g.close());
  assert.match(g.address, /^unix:\/.*\.sock$/);
  const portico = await startPortico({ servers: [{ routes: [{ path: '/api/', proxy: { to: g.address } }] }] });
  t.after(() => portico.close());
  const r = await http(`${portico.url}/api/whoami/`);
  assert.equal(r.status, 200);
  const who = json<Record<string, unknown>>(r);
  assert.equal(who.HTTP_X_REAL_IP, '127.0.0.1');
  assert.equal(who.host, `127.0.0.1:${portico.port}`);
  assert.equal(who.path, '/api/whoami/');
  // gunicorn logs the request after answering it.
  await eventually(() => g.requests('/api/whoami/') === 1, 'the access-log line of the unix-socket gunicorn', 10_000);
});
