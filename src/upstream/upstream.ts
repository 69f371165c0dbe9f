/**
 * One server of a pool as the config describes it (address, weight, max_conns, backup,
 * down), joined to its live HostState. `available()` is the one predicate every selection
 * policy uses: not down, not drained or disabled (admin API), healthy (active checks), not
 * sitting out a fail_timeout (passive health), and below max_conns.
 */
import type { HostState } from './host-state.js';
import type { PassiveHealth } from './health/passive.js';
import type { Transport } from './transport.js';
import type { Candidate } from './selection/policy.js';

export interface UpstreamServer {
  weight: number;
  maxConns: number;
  backup: boolean;
  down: boolean;
}

export class Upstream implements Candidate {
  readonly key: string;
  readonly weight: number;
  readonly maxConns: number;
  readonly backup: boolean;
  readonly down: boolean;

  constructor(
    server: UpstreamServer,
    /** Position in the pool's server list; routes keep their connection pools by it. */
    readonly index: number,
    readonly transport: Transport,
    readonly state: HostState,
    readonly passive: PassiveHealth,
  ) {
    this.key = transport.address;
    this.weight = server.weight;
    this.maxConns = server.maxConns;
    this.backup = server.backup;
    this.down = server.down;
  }

  get inFlight(): number {
    return this.state.inFlight;
  }

  available(): boolean {
    return this.usable() && (this.maxConns === 0 || this.state.inFlight < this.maxConns);
  }

  /** Could take requests if it had a free slot: not down, not drained or disabled by the admin API, healthy, not sitting out. */
  usable(): boolean {
    return !this.down && this.state.admin === 'up' && this.state.healthy && this.passive.allows(this.state);
  }

  /** Why it is not available, for the "no available upstream" log line. */
  status(): 'down' | 'draining' | 'disabled' | 'unhealthy' | 'failed' | 'busy' | 'available' {
    if (this.down) return 'down';
    if (this.state.admin !== 'up') return this.state.admin;
    if (!this.state.healthy) return 'unhealthy';
    if (!this.passive.allows(this.state)) return 'failed';
    return this.available() ? 'available' : 'busy';
  }
}
