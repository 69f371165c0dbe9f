/**
 * The test that motivates issue 7: gunicorn with 2 sync workers, and on loopback
 *   - 300 connections trickling their request head at 1 byte/s,
 *   - 50 connections trickling a request body at 1 byte/s,
 *   - 20 clients reading a 1 MiB response at 1 KiB/s.
 * Directly against gunicorn, normal requests stall (each is given a short deadline). Through
 * Portico they keep succeeding, and gunicorn completes every slow reader's response at once.
 * Bounded: attackers run for a few seconds, probes for PROBE_MS; the whole file takes ~25 s.
 * The probes' p99 is printed (a diagnostic, not an assertion: this is a shared 2-core box).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { startGunicorn } from '../helpers/gunicorn.js';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { delay, eventually } from '../proxy/support.js';

const HEAD_TRICKLERS = 300;
const BODY_TRICKLERS = 50;
const SLOW_READERS = 20;
const PROBE_DEADLINE_MS = 3000;
const PROBE_MS = 8000;

interface Attack {
  sockets: Socket[];
  /** Bytes the slow readers have read so far. */
  readBytes(): number;
  stop(): void;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Starts every slow client against `port`; one timer drives them all at 1 byte (or 1 KiB) per second. */
async function attack(port: number): Promise<Attack> {
  const sockets: Socket[] = [];
  const head = 'GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nX-Padding: ' + 'p'.repeat(200) + '\r\n\r\n';
  const tricklers: { socket: Socket; text: string; at: number }[] = [];
  for (let i = 0; i < HEAD_TRICKLERS; i++) {
    const socket = await open(port);
    socket.on('error', () => {});
    sockets.push(socket);
    tricklers.push({ socket, text: head, at: 0 });
  }
  for (let i = 0; i < BODY_TRICKLERS; i++) {
    const socket = await open(port);
    socket.on('error', () => {});
    sockets.push(socket);
    socket.write('POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n');
    tricklers.push({ socket, text: 'b'.repeat(1000), at: 0 });
  }
  let read = 0;
  const readers: Socket[] = [];
  for (let i = 0; i < SLOW_READERS; i++) {
    const socket = await open(port);
    socket.on('error', () => {});
    socket.pause();
    sockets.push(socket);
    readers.push(socket);
    socket.write('GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  }
  const tick = () => {
    for (const t of tricklers) if (t.at < t.text.length && !t.socket.destroyed) t.socket.write(t.text[t.at++]!);
    for (const r of readers) {
      const chunk = r.read(1024) as Buffer | null;
      if (chunk) read += chunk.length;
    }
  };
  tick();
  const timer = setInterval(tick, 1000);
  return {
    sockets,
    readBytes: () => read,
    stop() {
      clearInterval(timer);
      for (const s of sockets) s.destroy();
    },
  };
}

/** A normal request on a new connection; resolves with its latency, or 'stalled' past the deadline. */
function probe(port: number): Promise<number | 'stalled'> {
  const start = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/ping', agent: false, timeout: PROBE_DEADLINE_MS }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body === 'pong' ? performance.now() - start : 'stalled'));
      res.on('error', () => resolve('stalled'));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve('stalled'));
    req.end();
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

test('directly against gunicorn (2 sync workers), slow clients stall normal requests', async (t) => {
  const gunicorn = await startGunicorn(2);
  t.after(() => gunicorn.close());
  assert.equal(typeof (await probe(gunicorn.port)), 'number', 'gunicorn answers before the attack');
  const slow = await attack(gunicorn.port);
  t.after(() => slow.stop());
  await delay(1000); // the workers pick up the first slow connections
  const results = await Promise.all(Array.from({ length: 5 }, () => probe(gunicorn.port)));
  t.diagnostic(`direct probes: ${JSON.stringify(results)}`);
  assert.deepEqual(results, ['stalled', 'stalled', 'stalled', 'stalled', 'stalled'], 'every normal request stalls behind the slow clients');
});

test('through Portico, normal requests keep succeeding and gunicorn completes the slow readers at once', async (t) => {
  const gunicorn = await startGunicorn(2);
  t.after(() => gunicorn.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(gunicorn.address) }] }] });
  t.after(() => portico.close());
  const slow = await attack(portico.port);
  t.after(() => slow.stop());
  await delay(1000);

  const latencies: number[] = [];
  let stalled = 0;
  const until = performance.now() + PROBE_MS;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < until) {
        const r = await probe(portico.port);
        if (r === 'stalled') stalled++;
        else latencies.push(r);
        await delay(10); // a steady trickle of normal traffic, not a load test
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const summary = `${latencies.length} probes ok, ${stalled} stalled; p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`;
  t.diagnostic(summary);
  console.log(`slow-client test through Portico: ${summary}`);
  assert.equal(stalled, 0, 'no normal request stalled');
  assert.ok(latencies.length >= 100, `probes kept succeeding (${latencies.length})`);

  // gunicorn's access log: every slow reader's 1 MiB response was completed by a worker, although
  // the readers have taken only a few KiB; no trickled request ever reached a worker.
  // (gunicorn writes a line once a response is sent, so the last probes' lines may lag a little.)
  const count = (re: RegExp) => (gunicorn.output().match(re) ?? []).length;
  await eventually(() => count(/"GET \/ping/g) === latencies.length + 1, 'gunicorn to log every probe (and the readiness check)');
  const log = gunicorn.output();
  const bigDone = count(/"GET \/big HTTP\/1\.1" 200 1048576/g);
  assert.equal(bigDone, SLOW_READERS, `gunicorn completed ${bigDone} of ${SLOW_READERS} slow readers' responses:\n${log.slice(-2000)}`);
  assert.ok(slow.readBytes() < SLOW_READERS * 1024 * 1024, 'the readers really are slow');
  assert.ok(!/POST \/upload/.test(log), 'no trickled body reached gunicorn');
  assert.ok(!/slowloris/.test(log), 'no trickled head reached gunicorn');
});
