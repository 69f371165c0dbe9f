/**
 * limit_req's leaky bucket, deterministic with an injected clock: exact numbers of passes,
 * delays and rejections for a burst, nginx's arithmetic, Retry-After, and memory bounded
 * under a million distinct keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter, PASS, REJECT } from '../../src/shield/rate-limiter.js';
import { ConnLimiter } from '../../src/shield/conn-limiter.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

function outcomes(limiter: RateLimiter, key: string, n: number, burst: number, delay: number) {
  const out = { pass: 0, delayed: [] as number[], reject: 0 };
  for (let i = 0; i < n; i++) {
    const r = limiter.take(key, burst, delay);
    if (r === PASS) out.pass++;
    else if (r === REJECT) out.reject++;
    else out.delayed.push(r);
  }
  return out;
}

const table: { name: string; rate: number; burst: number; delay: number; n: number; pass: number; delayed: number[]; reject: number }[] = [
  // 1 + burst requests are accepted at once; the rest of a simultaneous burst is rejected.
  { name: 'no burst: one passes, the rest rejected', rate: 10, burst: 0, delay: 0, n: 25, pass: 1, delayed: [], reject: 24 },
  { name: 'burst 5 nodelay: six pass at once', rate: 10, burst: 5, delay: Infinity, n: 25, pass: 6, delayed: [], reject: 19 },
  // Without nodelay the burst is queued: the k-th excess request waits k/rate seconds.
  { name: 'burst 5 (delayed): one passes, five wait 100..500ms', rate: 10, burst: 5, delay: 0, n: 25, pass: 1, delayed: [100, 200, 300, 400, 500], reject: 19 },
  // nginx delay=2: two excess requests pass at once, the next three wait for the first two to drain.
  { name: 'burst 5 delay 2', rate: 10, burst: 5, delay: 2, n: 10, pass: 3, delayed: [100, 200, 300], reject: 4 },
  { name: '30r/m, burst 2 nodelay', rate: 0.5, burst: 2, delay: Infinity, n: 10, pass: 3, delayed: [], reject: 7 },
];

for (const row of table) {
  test(`limit_req: ${row.name}`, () => {
    const c = clock();
    const limiter = new RateLimiter({ rate: row.rate, maxKeys: 100, now: c.now });
    assert.deepEqual(outcomes(limiter, '10.0.0.1', row.n, row.burst, row.delay), { pass: row.pass, delayed: row.delayed, reject: row.reject });
  });
}

test('limit_req: the bucket drains at the rate (nginx arithmetic, no drift)', () => {
  const c = clock();
  const limiter = new RateLimiter({ rate: 10, maxKeys: 100, now: c.now });
  assert.equal(limiter.take('k', 0, 0), PASS);
  c.t += 99;
  assert.equal(limiter.take('k', 0, 0), REJECT, '99ms after: not drained yet');
  c.t += 1;
  assert.equal(limiter.take('k', 0, 0), PASS, '100ms after: one request has drained');
  // A thousand requests exactly at the rate all pass.
  let rejected = 0;
  for (let i = 0; i < 1000; i++) {
    c.t += 100;
    if (limiter.take('k', 0, 0) !== PASS) rejected++;
  }
  assert.equal(rejected, 0);
  // Keys are independent.
  assert.equal(limiter.take('k', 0, 0), REJECT);
  assert.equal(limiter.take('other', 0, 0), PASS);
});

test('limit_req: Retry-After is the whole seconds until the next request would pass', () => {
  const c = clock();
  const slow = new RateLimiter({ rate: 1 / 60, maxKeys: 10, now: c.now }); // 1r/m
  assert.equal(slow.take('k', 0, 0), PASS);
  assert.equal(slow.take('k', 0, 0), REJECT);
  assert.equal(slow.retryAfter('k', 0), 60);
  c.t += 30_000;
  assert.equal(slow.retryAfter('k', 0), 30);
  const fast = new RateLimiter({ rate: 10, maxKeys: 10, now: c.now });
  fast.take('k', 0, 0);
  assert.equal(fast.retryAfter('k', 0), 1, 'never less than one second');
});

test('limit_req: a million distinct keys keep at most max_keys buckets (least recently used forgotten)', () => {
  const c = clock();
  const limiter = new RateLimiter({ rate: 1, maxKeys: 10_000, now: c.now });
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1_000_000; i++) limiter.take(`10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}:${i}`, 0, 0);
  assert.equal(limiter.size, 10_000);
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 64 * 1024 * 1024, `heap grew ${Math.round(grown / 1048576)} MiB`);
  // A key used recently survives newer keys; the least recently used one is forgotten.
  const small = new RateLimiter({ rate: 1, maxKeys: 3, now: c.now });
  small.take('a', 0, 0);
  small.take('b', 0, 0);
  small.take('c', 0, 0);
  c.t += 1000;
  assert.equal(small.take('a', 0, 0), PASS); // touches a: b is now the oldest
  small.take('d', 0, 0); // evicts b
  assert.equal(small.take('a', 0, 0), REJECT, 'a is remembered');
  assert.equal(small.take('b', 0, 0), PASS, 'b was forgotten: a fresh bucket');
});

test('limit_conn: counts per key, releases, and forgets idle keys', () => {
  const conns = new ConnLimiter();
  assert.equal(conns.acquire('a', 2), true);
  assert.equal(conns.acquire('a', 2), true);
  assert.equal(conns.acquire('a', 2), false);
  assert.equal(conns.acquire('b', 2), true);
  conns.release('a');
  assert.equal(conns.acquire('a', 2), true);
  conns.release('a');
  conns.release('a');
  conns.release('b');
  assert.equal(conns.size, 0);
  for (let i = 0; i < 100_000; i++) {
    conns.acquire(`k${i}`, 1);
    conns.release(`k${i}`);
  }
  assert.equal(conns.size, 0);
});
