/**
 * A load-balanced pool of upstream servers (an nginx `upstream` block): its servers in two
 * tiers (backups are used only while no primary is available), one policy instance per tier,
 * the retry rules, and the wait queue for servers at max_conns. One group per named pool is
 * shared by every route that proxies to it, so round robin and least_conn see all its traffic.
 */
import type { Upstream } from './upstream.js';
import type { SelectRequest, SelectionPolicy } from './selection/policy.js';
import type { Conditions } from './conditions.js';
import { WaitQueue } from './wait-queue.js';
import type { Clock } from './clock.js';

export interface RetryRules {
  /** What sends a request to the next server. */
  on: Conditions;
  /** Most tries per request (the first included). */
  tries: number;
  /** No new try starts this long after the request reached the pool; 0: no limit. */
  tryDuration: number;
  /**
   * Within tryDuration, once every server was tried or none is available: the wait before
   * they are all tried again (Caddy's lb_try_interval). 0: no second round (nginx).
   */
  tryInterval: number;
}

export interface GroupOptions {
  /** "django", or "servers[0].routes[1] /api/" for an inline pool. */
  name: string;
  members: Upstream[];
  policy: () => SelectionPolicy;
  retry: RetryRules;
  queueSize: number;
  queueTimeout: number;
  /** Whether active health checks run for this pool. */
  activeChecks: boolean;
  clock: Clock;
}

export class UpstreamGroup {
  readonly name: string;
  readonly members: readonly Upstream[];
  readonly retry: RetryRules;
  readonly queue: WaitQueue;
  readonly queueTimeout: number;
  readonly clock: Clock;
  /**
   * One plain server and nothing to decide: no policy, no health, no limit. Routes to such
   * a pool take the direct path (a request pays for none of this machinery).
   */
  readonly trivial: boolean;
  readonly #primaries: readonly Upstream[];
  readonly #backups: readonly Upstream[];
  readonly #primaryPolicy: SelectionPolicy;
  readonly #backupPolicy: SelectionPolicy;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(o: GroupOptions) {
    this.name = o.name;
    this.members = o.members;
    this.retry = o.retry;
    this.clock = o.clock;
    this.queueTimeout = o.queueTimeout;
    this.queue = new WaitQueue(o.queueSize, o.clock);
    this.#primaries = o.members.filter((u) => !u.backup);
    this.#backups = o.members.filter((u) => u.backup);
    this.#primaryPolicy = o.policy();
    this.#backupPolicy = o.policy();
    const only = o.members[0]!;
    // A pool that waits for its server to come back (try_duration) is not: it retries.
    const waits = o.retry.tryDuration > 0 && o.retry.tryInterval > 0;
    this.trivial = o.members.length === 1 && !o.activeChecks && only.maxConns === 0 && !only.down && !waits;
    if (o.members.some((u) => u.maxConns > 0)) {
      // A request ending anywhere in the pool may free a slot for a waiting one.
      for (const u of o.members) this.#unsubscribe.push(u.state.onRelease(() => this.queue.wakeOne()));
    }
  }

  /**
   * The server for a request: the policy's choice among the available primaries, else among
   * the available backups. `tried` are left out (servers that already failed this request).
   */
  select(req: SelectRequest, tried: readonly Upstream[] | null): Upstream | undefined {
    const primaries = tried === null ? this.#primaries : this.#primaries.filter((u) => !tried.includes(u));
    const chosen = this.#primaryPolicy.select(primaries, req);
    if (chosen !== undefined || this.#backups.length === 0) return chosen;
    const backups = tried === null ? this.#backups : this.#backups.filter((u) => !tried.includes(u));
    return this.#backupPolicy.select(backups, req);
  }

  /** Some server left out only because it is at max_conns: worth waiting for. */
  busy(tried: readonly Upstream[] | null): boolean {
    return this.members.some((u) => u.maxConns > 0 && u.usable() && !u.available() && (tried === null || !tried.includes(u)));
  }

  /** "127.0.0.1:8001 failed, 127.0.0.1:8002 unhealthy", for logs. */
  describe(): string {
    return this.members.map((u) => `${u.key} ${u.status()}${u.backup ? ' (backup)' : ''}`).join(', ');
  }

  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
    this.queue.clear();
  }
}
