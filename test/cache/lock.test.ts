/**
 * Collapsed forwarding (nginx proxy_cache_lock, lock_timeout, lock_age) through real sockets:
 * the origin holds its answer until every client request is waiting in Portico, so the test
 * sees exactly how many went upstream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerWith, startCached, startOrigin, status, text } from './support.js';
import { eventually, within } from '../proxy/support.js';
import type { ServerResponse, IncomingMessage } from 'node:http';

/** An origin that answers only when released, counting what arrives. */
async function heldOrigin(headers: Record<string, string> = { 'Cache-Control': 'max-age=60' }) {
  const held: (() => void)[] = [];
  const origin = await startOrigin((req: IncomingMessage, res: ServerResponse, n: number) => held.push(() => answerWith(headers)(req, res, n)));
  return { origin, held, releaseAll: () => held.splice(0).forEach((send) => send()) };
}

test('lock: 100 concurrent misses for one key make exactly one upstream request; the others are answered from its entry', async () => {
  const { origin, held, releaseAll } = await heldOrigin();
  const p = await startCached(origin.address, { lock: true });
  try {
    const zone = p.server.cache.get('main')!;
    const all = Array.from({ length: 100 }, () => p.get('/cold'));
    await eventually(() => held.length === 1 && zone.locks.waiting === 99, '1 request upstream and 99 waiting', 10_000);
    releaseAll();
    const results = await within(Promise.all(all), 15_000, '100 responses');
    assert.equal(origin.seen.length, 1);
    assert.ok(results.every((r) => r.status === 200 && text(r) === '/cold #1'));
    assert.equal(results.filter((r) => status(r) === 'MISS').length, 1);
    assert.equal(results.filter((r) => status(r) === 'HIT').length, 99);
  } finally {
    await p.close();
    await origin.close();
  }
});

test('without lock, concurrent misses all go upstream', async () => {
  const { origin, held, releaseAll } = await heldOrigin();
  const p = await startCached(origin.address);
  try {
    const all = Array.from({ length: 10 }, () => p.get('/cold'));
    await eventually(() => held.length === 10, '10 requests upstream');
    releaseAll();
    await within(Promise.all(all), 15_000, 'responses');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('lock timeout: a waiting request goes upstream after it, and its response is not stored', async () => {
  const { origin, held } = await heldOrigin();
  const p = await startCached(origin.address, { lock: { timeout: '300ms', age: '60s' } });
  try {
    const first = p.get('/t');
    await eventually(() => held.length === 1, 'the first request upstream');
    const second = p.get('/t');
    await eventually(() => held.length === 2, 'the waiting request sent on after lock_timeout', 10_000);
    const [sendFirst, sendSecond] = held.splice(0);
    sendSecond!(); // the second answers first: not stored (nginx), the first is
    assert.equal(status(await second), 'MISS');
    assert.equal(p.server.cache.get('main')!.index.size, 0);
    sendFirst!();
    assert.equal(text(await first), '/t #1');
    assert.equal(status(await p.get('/t')), 'HIT');
  } finally {
    await p.close();
    await origin.close();
  }
});

test('lock age: a fill taking longer lets one more request go, holding the lock', async () => {
  const { origin, held, releaseAll } = await heldOrigin();
  const p = await startCached(origin.address, { lock: { timeout: '30s', age: '300ms' } });
  try {
    const requests = [p.get('/a')];
    await eventually(() => held.length === 1, 'the first request upstream');
    requests.push(p.get('/a'), p.get('/a'));
    await eventually(() => held.length === 2, 'one more request after lock_age', 10_000);
    releaseAll();
    await eventually(() => held.length === 0 && origin.seen.length >= 2, 'answers');
    releaseAll();
    const results = await within(Promise.all(requests), 15_000, 'responses');
    assert.ok(results.every((r) => r.status === 200));
    assert.ok(origin.seen.length <= 3);
  } finally {
    releaseAll();
    await p.close();
    await origin.close();
  }
});
