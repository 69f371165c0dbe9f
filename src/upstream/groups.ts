/**
 * The upstream pools of one compiled config: the named ones (`upstreams:`), built up front
 * and shared by every route naming them, and the inline ones, one per route. Building a pool
 * takes a reference to each server's HostState; `start()` starts the active health checks;
 * `close()` stops them and gives the references back (see host-state.ts and health/active.ts
 * for why both outlive a config while a newer one still uses them).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { UpstreamPoolConfig } from '../config/schema.js';
import { parseUpstream } from '../config/address.js';
import { parseStatusRange } from '../config/upstream-schema.js';
import type { ErrorLog } from '../log/error-log.js';
import { UpstreamGroup } from './group.js';
import { Upstream } from './upstream.js';
import { transportFor, type UpstreamTls } from './transport.js';
import { hostRegistry, type HostRegistry, type HostState } from './host-state.js';
import { PassiveHealth } from './health/passive.js';
import { checkerRegistry, HealthChecker, type ActiveCheckConfig, type CheckerRegistry } from './health/active.js';
import { compileConditions } from './conditions.js';
import { createPolicy } from './selection/index.js';
import { defaultPolicyDeps, type PolicyDeps } from './selection/policy.js';
import { systemClock, type Clock } from './clock.js';

export interface UpstreamDeps {
  log: ErrorLog;
  /** Where a relative `tls.ca` resolves. */
  baseDir: string;
  clock?: Clock;
  hosts?: HostRegistry;
  checkers?: CheckerRegistry;
  policy?: PolicyDeps;
}

interface CheckPlan {
  key: string;
  create: () => HealthChecker;
}

export class UpstreamGroups {
  readonly #named = new Map<string, UpstreamGroup>();
  readonly #all: UpstreamGroup[] = [];
  readonly #hostRefs: string[] = [];
  readonly #checks: CheckPlan[] = [];
  readonly #started: string[] = [];
  readonly #deps: Required<UpstreamDeps>;
  readonly #file: string;
  /** Config problems found while building (a CA file that cannot be read). */
  readonly problems: string[] = [];

  constructor(named: Record<string, UpstreamPoolConfig> | undefined, deps: UpstreamDeps, file: string) {
    this.#file = file;
    this.#deps = {
      clock: systemClock,
      hosts: hostRegistry,
      checkers: checkerRegistry,
      policy: defaultPolicyDeps,
      ...deps,
    };
    for (const [name, pool] of Object.entries(named ?? {})) this.#named.set(name, this.#build(name, pool, `${file}: upstreams.${name}`));
  }

  get(name: string): UpstreamGroup {
    return this.#named.get(name)!; // references are checked by the schema
  }

  /** Every pool of this config, named and inline (for /status and the admin API). */
  get list(): readonly UpstreamGroup[] {
    return this.#all;
  }

  /** A pool written inline in a route; `route` names it in logs ("servers[0].routes[1] /api/"). */
  inline(route: string, pool: UpstreamPoolConfig): UpstreamGroup {
    return this.#build(route, pool, `${this.#file}: ${route}: proxy.to`);
  }

  /** Starts the active health checks (when the server starts listening). */
  start(): void {
    for (const plan of this.#checks) {
      this.#deps.checkers.acquire(plan.key, plan.create);
      this.#started.push(plan.key);
    }
  }

  /** Stops this config's health checks and releases its host states. */
  close(): void {
    for (const key of this.#started.splice(0)) this.#deps.checkers.release(key);
    for (const g of this.#all) g.close();
    for (const key of this.#hostRefs.splice(0)) this.#deps.hosts.release(key);
  }

  #build(name: string, pool: UpstreamPoolConfig, where: string): UpstreamGroup {
    const { clock, log } = this.#deps;
    const tls = this.#tls(pool, where);
    const servers = pool.servers.map((s) => (typeof s === 'string' ? { address: s, weight: 1, max_conns: 0, backup: false, down: false } : s));
    // nginx: a pool of one server never marks it failed (there is nowhere else to go).
    const passive = new PassiveHealth(
      { maxFails: servers.length === 1 ? 0 : pool.max_fails, failTimeout: pool.fail_timeout, failOn: compileConditions(pool.fail_on) },
      clock,
      (s: HostState) =>
        log.warn('upstream server temporarily disabled', { pool: name, upstream: s.address, fails: s.fails, fail_timeout_ms: pool.fail_timeout }),
    );
    const members = servers.map((s, i) => {
      const address = parseUpstream(s.address)!;
      const transport = transportFor(address, tls);
      const state = this.#deps.hosts.acquire(transport.address);
      this.#hostRefs.push(transport.address);
      const upstream = new Upstream(
        { weight: s.weight, maxConns: s.max_conns, backup: s.backup, down: s.down },
        i,
        transport,
        state,
        passive,
      );
      if (pool.health_check) this.#planCheck(name, upstream, pool.health_check, transportFor(address, tls, pool.health_check.port ?? address.port));
      return upstream;
    });
    const group = new UpstreamGroup({
      name,
      members,
      policy: () => createPolicy(pool.policy, this.#deps.policy),
      retry: { on: compileConditions(pool.retry.on), tries: pool.retry.tries || servers.length, tryDuration: pool.retry.try_duration },
      queueSize: pool.queue.size,
      queueTimeout: pool.queue.timeout,
      activeChecks: pool.health_check !== undefined,
      clock,
    });
    this.#all.push(group);
    return group;
  }

  #planCheck(pool: string, upstream: Upstream, hc: NonNullable<UpstreamPoolConfig['health_check']>, transport: ReturnType<typeof transportFor>): void {
    const config: ActiveCheckConfig = {
      method: hc.method,
      path: hc.path,
      interval: hc.interval,
      timeout: hc.timeout,
      status: parseStatusRange(hc.status)!,
      body: hc.body,
      passes: hc.passes,
      fails: hc.fails,
      headers: Object.entries(hc.headers ?? {}).flat(),
    };
    const { clock, log } = this.#deps;
    const key = `${transport.key}|${upstream.key}|${JSON.stringify(config)}`;
    this.#checks.push({
      key,
      create: () =>
        new HealthChecker(transport, config, upstream.state, clock, {
          changed: (s, healthy, reason) =>
            healthy
              ? log.info('upstream healthy again', { pool, upstream: s.address, check: reason })
              : log.warn('upstream unhealthy', { pool, upstream: s.address, check: reason }),
        }),
    });
  }

  #tls(pool: UpstreamPoolConfig, where: string): UpstreamTls | undefined {
    if (!pool.tls) return undefined;
    let ca: string | undefined;
    if (pool.tls.ca !== undefined) {
      const file = resolve(this.#deps.baseDir, pool.tls.ca);
      try {
        ca = readFileSync(file, 'latin1');
        if (!ca.includes('-----BEGIN CERTIFICATE-----')) this.problems.push(`${where}.tls.ca: ${file} holds no PEM certificate`);
      } catch (err) {
        this.problems.push(`${where}.tls.ca: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    const id = [`ca=${pool.tls.ca ?? 'system'}`, `sni=${pool.tls.server_name ?? ''}`, pool.tls.insecure_skip_verify ? 'insecure' : ''].join('|');
    return { ca, serverName: pool.tls.server_name, insecureSkipVerify: pool.tls.insecure_skip_verify, id };
  }
}
