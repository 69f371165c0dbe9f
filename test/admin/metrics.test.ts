// /metrics: counters are exact (N requests move them by exactly N), labelled by server, route,
// method and status class; latency histograms count every request; a client inventing methods
// cannot create series; upstream servers report what they answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startUpstream } from '../helpers/upstream.js';
import { getMany, scrape, startAdminPortico, total } from './support.js';

test('N requests move portico_requests_total and the latency histogram by exactly N', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const p = await startAdminPortico({
    servers: [{ routes: [{ path: '/api/', proxy: { to: up.address } }, { path: '/', respond: { status: 204 } }] }],
  });
  t.after(() => p.close());
  const before = await scrape(p.admin);
  const N = 300;
  const api = await getMany(`${p.url}/api/x`, N);
  const plain = await getMany(`${p.url}/other`, 57, 8);
  const notFound = await getMany(`${p.url}/api/missing`, 0);
  assert.equal(api.filter((s) => s === 200).length, N);
  assert.equal(plain.length + notFound.length, 57);
  const after = await scrape(p.admin);
  const delta = (name: string, match: Record<string, string>) => total(after, name, match) - total(before, name, match);
  const apiRoute = { route: 'servers[0].routes[0] /api/', method: 'GET', status_class: '2xx' };
  assert.equal(delta('portico_requests_total', apiRoute), N);
  assert.equal(delta('portico_requests_total', { route: 'servers[0].routes[1] /', status_class: '2xx' }), 57);
  assert.equal(delta('portico_request_duration_seconds_count', { route: 'servers[0].routes[0] /api/' }), N);
  assert.equal(delta('portico_request_duration_seconds_bucket', { route: 'servers[0].routes[0] /api/', le: '+Inf' }), N);
  assert.equal(delta('portico_upstream_responses_total', { upstream: up.address, status_class: '2xx' }), N);
  assert.equal(delta('portico_upstream_header_duration_seconds_count', { upstream: up.address }), N);
  assert.ok(delta('portico_response_body_bytes_total', { route: 'servers[0].routes[0] /api/' }) > N * 10);
  // Buckets are cumulative: each is at most the next.
  const buckets = [...after].filter(([k]) => k.startsWith('portico_request_duration_seconds_bucket{') && k.includes('/api/')).map(([, v]) => v);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]! >= buckets[i - 1]!, 'cumulative buckets');
  // Process metrics come from prom-client's defaults.
  assert.ok(total(after, 'process_resident_memory_bytes') > 0);
});

// Methods node's parser takes that are not on the list (made-up ones never get past its parser).
const RARE = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'SEARCH', 'PURGE', 'LINK', 'UNLINK', 'SOURCE', 'BIND'];

test('a method outside the known list is counted as OTHER: clients cannot add series', async (t) => {
  const p = await startAdminPortico({ servers: [{ routes: [{ path: '/', respond: { status: 200, body: 'x' } }] }] });
  t.after(() => p.close());
  const before = await scrape(p.admin);
  const url = new URL(p.url);
  for (const method of RARE) {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, method, path: '/' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  }
  const after = await scrape(p.admin);
  assert.equal(total(after, 'portico_requests_total', { method: 'OTHER' }) - total(before, 'portico_requests_total', { method: 'OTHER' }), RARE.length);
  assert.ok(![...after.keys()].some((k) => RARE.some((m) => k.includes(`"${m}"`))), 'no series named after a method a client chose');
});

test('retries, failures and open connections are reported', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const p = await startAdminPortico({
    upstreams: { app: { servers: ['127.0.0.1:1', up.address], policy: 'first', max_fails: 0 } },
    servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }],
  });
  t.after(() => p.close());
  const before = await scrape(p.admin);
  const statuses = await getMany(`${p.url}/`, 10, 1);
  assert.deepEqual(new Set(statuses), new Set([200]));
  const after = await scrape(p.admin);
  assert.equal(total(after, 'portico_upstream_retries_total') - total(before, 'portico_upstream_retries_total'), 10);
  assert.equal(total(after, 'portico_upstream_failures_total', { upstream: '127.0.0.1:1' }) - total(before, 'portico_upstream_failures_total', { upstream: '127.0.0.1:1' }), 10);
  assert.equal(total(after, 'portico_upstream_server_state', { upstream: up.address, state: 'up' }), 1);
  assert.ok(total(after, 'portico_connections_total', { protocol: 'http/1.1' }) - total(before, 'portico_connections_total', { protocol: 'http/1.1' }) >= 1);
});

test('requests refused by access rules and basic_auth are counted by reason', async (t) => {
  const p = await startAdminPortico({
    servers: [
      {
        routes: [
          { path: '/closed/', respond: { body: 'x' }, access: [{ deny: '0.0.0.0/0' }] },
          { path: '/private/', respond: { body: 'x' }, basic_auth: { realm: 'r', users: { u: '$2b$04$abcdefghijklmnopqrstuu5I8P0yJmJm0S4Gm1CZ5Bw6UOd3iK5xK' } } },
        ],
      },
    ],
  });
  t.after(() => p.close());
  const before = await scrape(p.admin);
  assert.deepEqual(new Set(await getMany(`${p.url}/closed/x`, 7, 2)), new Set([403]));
  assert.deepEqual(new Set(await getMany(`${p.url}/private/x`, 3, 1)), new Set([401]));
  const after = await scrape(p.admin);
  assert.equal(total(after, 'portico_denials_total', { reason: 'access' }) - total(before, 'portico_denials_total', { reason: 'access' }), 7);
  assert.equal(total(after, 'portico_denials_total', { reason: 'basic_auth' }) - total(before, 'portico_denials_total', { reason: 'basic_auth' }), 3);
});
