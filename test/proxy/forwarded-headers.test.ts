/**
 * X-Forwarded-*, X-Real-IP and Forwarded toward the upstream: rewritten for untrusted peers
 * (no spoofing), chained for trusted proxies, overridable per route; Host passes unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { http, rawRequest, rawValues } from './support.js';

const SPOOFED = [
  'X-Forwarded-For', '6.6.6.6',
  'X-Forwarded-Proto', 'https',
  'X-Forwarded-Host', 'evil.example',
  'X-Forwarded-Port', '8443',
  'X-Forwarded-Prefix', '/evil',
  'X-Real-IP', '6.6.6.7',
  'Forwarded', 'for=6.6.6.8;proto=https;host=evil.example',
];

test('an untrusted peer cannot spoof forwarding headers', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await http(`${portico.url}/who`, { headers: ['Host', 'app.example:8080', ...SPOOFED] });
  assert.equal(res.status, 200);
  const raw = upstream.seen[0]!.rawHeaders;
  assert.deepEqual(rawValues(raw, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(rawValues(raw, 'x-real-ip'), ['127.0.0.1']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-host'), ['app.example:8080']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-port'), []);
  assert.deepEqual(rawValues(raw, 'x-forwarded-prefix'), []);
  assert.deepEqual(rawValues(raw, 'forwarded'), []);
  assert.deepEqual(rawValues(raw, 'host'), ['app.example:8080']);
  for (let i = 1; i < raw.length; i += 2) assert.doesNotMatch(raw[i]!, /6\.6\.6|evil|8443/, `${raw[i - 1]}: ${raw[i]}`);
});

test('spoofing is case-insensitive and survives repeated headers', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await rawRequest(
    portico.port,
    'GET / HTTP/1.1\r\nHost: a.example\r\nx-forwarded-for: 6.6.6.6\r\nX-FORWARDED-FOR: 6.6.6.9\r\nx-real-ip: 6.6.6.7\r\nx-real-ip: 6.6.6.8\r\nConnection: close\r\n\r\n',
  );
  assert.equal(res.status, 200);
  const raw = upstream.seen[0]!.rawHeaders;
  assert.deepEqual(rawValues(raw, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(rawValues(raw, 'x-real-ip'), ['127.0.0.1']);
});

test('a trusted proxy keeps its chain, the peer is appended, X-Real-IP is the right-most untrusted address', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({
    servers: [{ trusted_proxies: ['127.0.0.0/8'], routes: [{ path: '/', ...proxyTo(upstream.address) }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await http(`${portico.url}/`, {
    headers: ['Host', 'internal:9000', 'X-Forwarded-For', '1.2.3.4', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'www.example.com'],
  });
  assert.equal(res.status, 200);
  const raw = upstream.seen[0]!.rawHeaders;
  assert.deepEqual(rawValues(raw, 'x-forwarded-for'), ['1.2.3.4, 127.0.0.1']);
  assert.deepEqual(rawValues(raw, 'x-real-ip'), ['1.2.3.4']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-proto'), ['https']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-host'), ['www.example.com']);
  assert.deepEqual(rawValues(raw, 'host'), ['internal:9000']);
});

test('behind trusted hops the client is the right-most untrusted entry, not the left-most', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({
    servers: [{ trusted_proxies: ['127.0.0.0/8', '10.0.0.0/8'], routes: [{ path: '/', ...proxyTo(upstream.address) }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  // "6.6.6.6" was written by the client itself; 5.6.7.8 is what the first trusted hop saw.
  await http(`${portico.url}/`, { headers: ['X-Forwarded-For', '6.6.6.6, 5.6.7.8', 'X-Forwarded-For', '10.1.1.1'] });
  const raw = upstream.seen[0]!.rawHeaders;
  assert.deepEqual(rawValues(raw, 'x-forwarded-for'), ['6.6.6.6, 5.6.7.8, 10.1.1.1, 127.0.0.1']);
  assert.deepEqual(rawValues(raw, 'x-real-ip'), ['5.6.7.8']);
});

test('a trusted proxy cannot smuggle a second X-Real-IP: Portico computes it', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({
    servers: [{ trusted_proxies: ['127.0.0.0/8'], routes: [{ path: '/', ...proxyTo(upstream.address) }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  await http(`${portico.url}/`, { headers: ['X-Forwarded-For', '1.2.3.4', 'X-Real-IP', '9.9.9.9'] });
  const raw = upstream.seen[0]!.rawHeaders;
  assert.deepEqual(rawValues(raw, 'x-real-ip'), ['1.2.3.4']);
});

test('a trusted peer without forwarding headers is itself the client', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({
    servers: [{ trusted_proxies: ['127.0.0.0/8'], routes: [{ path: '/', ...proxyTo(upstream.address) }] }],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  await http(`${portico.url}/`, { headers: ['Host', 'site.example'] });
  const raw = upstream.seen[0]!.rawHeaders;
  assert.deepEqual(rawValues(raw, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(rawValues(raw, 'x-real-ip'), ['127.0.0.1']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-host'), ['site.example']);
});

test('request_headers set X-Forwarded-Proto overrides the computed value (Caddy header_up)', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({
    servers: [
      {
        routes: [
          { path: '/', request_headers: { set: { 'X-Forwarded-Proto': 'https' } }, ...proxyTo(upstream.address) },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  await http(`${portico.url}/`, { headers: ['X-Forwarded-Proto', 'gopher'] });
  const raw = upstream.seen[0]!.rawHeaders;
  assert.deepEqual(rawValues(raw, 'x-forwarded-proto'), ['https']);
  assert.deepEqual(rawValues(raw, 'x-forwarded-for'), ['127.0.0.1']);
});

test('request_headers remove drops a forwarding header and set/add apply to others', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({
    servers: [
      {
        routes: [
          {
            path: '/',
            request_headers: { remove: ['X-Forwarded-Host', 'Cookie'], set: { 'X-Client': '{client_ip}' }, add: { 'X-Tag': 'a' } },
            ...proxyTo(upstream.address),
          },
        ],
      },
    ],
  });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  await http(`${portico.url}/`, { headers: ['Cookie', 'a=b', 'X-Client', 'forged', 'X-Tag', 'orig'] });
  const raw = upstream.seen[0]!.rawHeaders;
  assert.deepEqual(rawValues(raw, 'x-forwarded-host'), []);
  assert.deepEqual(rawValues(raw, 'cookie'), []);
  assert.deepEqual(rawValues(raw, 'x-client'), ['127.0.0.1']);
  assert.deepEqual(rawValues(raw, 'x-tag'), ['orig', 'a']);
});

test('absolute-form request: its authority is the Host the upstream sees, as it was for routing', async (t) => {
  const upstream = await startUpstream();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([portico.close(), upstream.close()]));

  const res = await rawRequest(portico.port, 'GET http://site.example:8080/abs?q=1 HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n');
  assert.equal(res.status, 200);
  const seen = upstream.seen[0]!;
  assert.equal(seen.url, '/abs?q=1');
  assert.deepEqual(rawValues(seen.rawHeaders, 'host'), ['site.example:8080']);
  assert.deepEqual(rawValues(seen.rawHeaders, 'x-forwarded-host'), ['site.example:8080']);
});
