import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpHash } from '../../../src/upstream/selection/ip-hash.js';
import { FakeCandidate, fakeRequest, runPolicySuite } from './policy.suite.js';

runPolicySuite('ip_hash', () => new IpHash());

const servers = () => ['8001', '8002', '8003'].map((p) => new FakeCandidate(`127.0.0.1:${p}`));

test('ip_hash: a client keeps landing on one server, whatever else it requests', () => {
  const list = servers();
  const policy = new IpHash();
  for (const ip of ['203.0.113.7', '198.51.100.23', '2001:db8::1', '10.9.8.7']) {
    const first = policy.select(list, fakeRequest({ clientIp: ip, uri: '/a' }));
    for (let i = 0; i < 50; i++) assert.equal(policy.select(list, fakeRequest({ clientIp: ip, uri: `/x/${i}` })), first, ip);
  }
});

test('ip_hash: different clients spread over the servers', () => {
  const list = servers();
  const policy = new IpHash();
  const counts = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const k = policy.select(list, fakeRequest({ clientIp: `10.1.${i >> 8}.${i & 255}` }))!.key;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const [k, n] of counts) assert.ok(n > 800 && n < 1200, `${k}: ${n} of 3000`);
});

test('ip_hash: when a server becomes unavailable only its own clients move', () => {
  const list = servers();
  const policy = new IpHash();
  const ips = Array.from({ length: 600 }, (_, i) => `172.16.${i >> 8}.${i & 255}`);
  const before = ips.map((ip) => policy.select(list, fakeRequest({ clientIp: ip }))!);
  list[1]!.healthy = false;
  ips.forEach((ip, i) => {
    const now = policy.select(list, fakeRequest({ clientIp: ip }))!;
    if (before[i] !== list[1]) assert.equal(now, before[i], `${ip} moved although its server is up`);
    else assert.notEqual(now, list[1]);
  });
});
