// An application restarted behind Portico (issue 17): gunicorn stopped gracefully and started
// again on its address while GET and POST requests keep coming. With `retry.try_duration` a
// request refused meanwhile waits `try_interval` and is tried again on the same server, so no
// client sees the restart (src/proxy/group-balancer.ts). Before, each server was tried once
// per request and most requests of the restart's second got a 502.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { createHash } from 'node:crypto';
import { startGunicorn, type TestGunicorn } from '../helpers/gunicorn.js';
import { startPortico } from '../helpers/portico.js';

interface Outcome {
  ok: number;
  failed: string[];
  /** When each request was sent and answered (performance.now()). */
  sentAt: number[];
  doneAt: number[];
}

function send(agent: Agent, port: number, method: string, path: string, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: body ? { 'Content-Length': String(body.length) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
      res.on('error', reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error('no answer within 20s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** One client: requests one after another on a keep-alive connection until `until()` says stop (at most `max`). */
async function client(port: number, method: 'GET' | 'POST', until: () => boolean, max: number, out: Outcome): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = Buffer.alloc(4096, method);
  const expected = method === 'GET' ? 'pong' : `${body.length} ${createHash('sha256').update(body).digest('hex')}`;
  try {
    for (let i = 0; i < max && !until(); i++) {
      try {
        out.sentAt.push(performance.now());
        const i = out.sentAt.length - 1;
        const r = await (method === 'GET' ? send(agent, port, 'GET', '/ping') : send(agent, port, 'POST', '/upload', body)).finally(() => (out.doneAt[i] = performance.now()));
        if (r.status === 200 && r.text === expected) out.ok++;
        else out.failed.push(`${method} ${r.status} ${r.text.slice(0, 80)}`);
      } catch (err) {
        out.failed.push(`${method} ${(err as Error).message}`);
      }
    }
  } finally {
    agent.destroy();
  }
}

/** gunicorn serving, restarted under load behind a pool with `retry`; every request's outcome. */
async function restartUnderLoad(t: { after(fn: () => unknown): void; diagnostic(m: string): void }, retry: Record<string, unknown>) {
  let gunicorn: TestGunicorn = await startGunicorn(2);
  t.after(() => gunicorn.close());
  const p = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: { servers: [gunicorn.address], retry } } }] }] });
  t.after(() => p.close());

  const out: Outcome = { ok: 0, failed: [], sentAt: [], doneAt: [] };
  let restarted = false;
  let afterRestart = 0;
  // Bounded: the clients stop 100 answers after the restart, or at 3000 requests each.
  const done = () => restarted && out.ok - afterRestart >= 100;
  const clients = [
    ...Array.from({ length: 3 }, () => client(p.port, 'GET', done, 3000, out)),
    ...Array.from({ length: 3 }, () => client(p.port, 'POST', done, 3000, out)),
  ];
  // Load first, then the restart: a graceful stop (requests in flight finish), the address
  // refused until the new master listens.
  while (out.ok < 60) await new Promise((r) => setTimeout(r, 10));
  const stoppedAt = performance.now();
  await gunicorn.stop();
  gunicorn = await startGunicorn(2, 20_000, [], gunicorn.port);
  const backAt = performance.now();
  afterRestart = out.ok;
  restarted = true;
  await Promise.all(clients);
  // Requests in flight at some moment while gunicorn was stopping, down or starting.
  const across = out.sentAt.filter((at, i) => at <= backAt && out.doneAt[i]! >= stoppedAt).length;
  t.diagnostic(
    `${out.sentAt.length} requests, ${across} of them in flight while gunicorn was stopping, down or starting (${Math.round(backAt - stoppedAt)} ms); ${out.ok} answered 200, ${out.failed.length} failed`,
  );
  assert.ok(across >= 6, 'every client had a request in flight across the restart');
  return { out, failures: p.errors.filter((e) => e.level === 50).map((e) => `${String(e.method)} ${String(e.msg)}`) };
}

test('gunicorn restarted under GET and POST load: with retry.try_duration (and non_idempotent for the POSTs) no request fails', async (t) => {
  // gunicorn's last worker, exiting, resets the connections still in its accept queue: those
  // were connected and their request sent, so a POST among them is sent again only with
  // nginx's non_idempotent (its body was buffered whole: request buffering keeps it for this).
  const { out } = await restartUnderLoad(t, { try_duration: '5s', on: ['error', 'timeout', 'non_idempotent'] });
  assert.deepEqual(out.failed, []);
});

test('gunicorn restarted under load, retry.try_duration alone: no GET fails, and a POST only where gunicorn reset it after it was sent', async (t) => {
  const { out, failures } = await restartUnderLoad(t, { try_duration: '5s' });
  t.diagnostic(`failed: ${JSON.stringify(out.failed)}`);
  assert.deepEqual(
    out.failed.filter((f) => !f.startsWith('POST 502')),
    [],
  );
  assert.deepEqual(
    failures.filter((f) => f !== 'POST upstream failed: connection reset by upstream (ECONNRESET)'),
    [],
    'never a refused connection',
  );
});
