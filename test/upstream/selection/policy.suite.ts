/**
 * The conformance suite every selection policy passes (STYLE rule 5): whatever else a policy
 * does, it returns undefined for an empty or wholly unavailable pool, never returns a server
 * that is unavailable (unhealthy or at max_conns), returns only servers from the list it was
 * given, and copes with that list shrinking (retries leave failed servers out).
 * Each policy's own test file runs it, then tests the property that policy exists for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Candidate, PolicyDeps, SelectRequest, SelectionPolicy } from '../../../src/upstream/selection/policy.js';

export class FakeCandidate implements Candidate {
  constructor(
    readonly key: string,
    public weight = 1,
    public healthy = true,
    public inFlight = 0,
    public maxConns = 0,
  ) {}

  available(): boolean {
    return this.healthy && (this.maxConns === 0 || this.inFlight < this.maxConns);
  }
}

export interface FakeRequest extends SelectRequest {
  /** Set-Cookie values the policy asked for. */
  cookies: string[];
}

export function fakeRequest(opts: { clientIp?: string; uri?: string; headers?: Record<string, string>; secure?: boolean } = {}): FakeRequest {
  const headers = opts.headers ?? {};
  const cookies: string[] = [];
  return {
    clientIp: opts.clientIp ?? '192.0.2.1',
    uri: opts.uri ?? '/',
    secure: opts.secure ?? false,
    header: (name) => headers[name],
    setCookie: (v) => void cookies.push(v),
    cookies,
  };
}

/** The i-th of many different clients: its own address, URI, X-User header and session cookie. */
export function variedRequest(i: number): FakeRequest {
  return fakeRequest({
    clientIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    uri: `/item/${i}?q=${i * 7}`,
    headers: { 'x-user': `user-${i}`, cookie: `sessionid=s${i}` },
  });
}

/** mulberry32: a small seeded PRNG, so random policies are deterministic in tests. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const deps = (seed = 42): PolicyDeps => ({ random: seeded(seed) });

export interface SuiteOptions {
  /** The policy sends everything to one server by design (`first`): it must not spread. */
  concentrates?: boolean;
}

export function runPolicySuite(name: string, create: (deps: PolicyDeps) => SelectionPolicy, opts: SuiteOptions = {}): void {
  const pool = () => ['a', 'b', 'c', 'd'].map((k) => new FakeCandidate(`10.0.0.1:${k.charCodeAt(0)}`));

  test(`${name} (suite): an empty pool gives undefined`, () => {
    assert.equal(create(deps()).select([], fakeRequest()), undefined);
  });

  test(`${name} (suite): a pool with nothing available gives undefined`, () => {
    const servers = pool();
    servers[0]!.healthy = false;
    servers[1]!.healthy = false;
    servers[2]!.inFlight = servers[2]!.maxConns = 3;
    servers[3]!.healthy = false;
    const policy = create(deps());
    for (let i = 0; i < 50; i++) assert.equal(policy.select(servers, variedRequest(i)), undefined);
  });

  test(`${name} (suite): never picks an unhealthy server`, () => {
    const servers = pool();
    servers[1]!.healthy = false;
    servers[3]!.healthy = false;
    const policy = create(deps());
    for (let i = 0; i < 500; i++) {
      const c = policy.select(servers, variedRequest(i));
      assert.ok(c === servers[0] || c === servers[2], `picked ${c?.key}`);
    }
  });

  test(`${name} (suite): never picks a server at max_conns`, () => {
    const servers = pool();
    servers[0]!.maxConns = 2;
    servers[0]!.inFlight = 2;
    servers[2]!.maxConns = 1;
    servers[2]!.inFlight = 1;
    const policy = create(deps());
    for (let i = 0; i < 500; i++) {
      const c = policy.select(servers, variedRequest(i));
      assert.ok(c === servers[1] || c === servers[3], `picked ${c?.key}`);
    }
  });

  test(`${name} (suite): the only available server gets every request`, () => {
    const servers = pool();
    for (const s of servers) s.healthy = false;
    servers[2]!.healthy = true;
    const policy = create(deps());
    for (let i = 0; i < 100; i++) assert.equal(policy.select(servers, variedRequest(i)), servers[2]);
  });

  test(`${name} (suite): picks only from the list it is given, which may shrink and grow between calls`, () => {
    const servers = pool();
    const policy = create(deps());
    for (let i = 0; i < 300; i++) {
      const list = i % 3 === 0 ? servers : i % 3 === 1 ? servers.slice(1) : [servers[3]!, servers[0]!];
      const c = policy.select(list, variedRequest(i));
      assert.ok(c !== undefined && list.includes(c), `picked ${c?.key} from ${list.map((s) => s.key).join(',')}`);
    }
  });

  const spread = opts.concentrates ? 'all requests go to one server' : 'every available server gets requests';
  test(`${name} (suite): ${spread}`, () => {
    const servers = pool();
    const policy = create(deps());
    const seen = new Set<Candidate>();
    for (let i = 0; i < 400; i++) seen.add(policy.select(servers, variedRequest(i))!);
    assert.equal(seen.size, opts.concentrates ? 1 : servers.length);
  });

  test(`${name} (suite): a request without the headers or cookies a policy may read still gets a server`, () => {
    const servers = pool();
    const policy = create(deps());
    assert.ok(servers.includes(policy.select(servers, fakeRequest({ clientIp: '', uri: '' })) as FakeCandidate));
  });
}
