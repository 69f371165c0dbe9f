/**
 * What the admin API set for a server (nginx Plus's drain/down, HAProxy's drain/maint):
 *  - up: the server takes requests as its config and health allow;
 *  - draining: no new request is sent to it, those in flight finish (shown as drained once
 *    none is left), so it can be restarted without cutting anyone off;
 *  - disabled: no request is sent to it, as `down` in the config would.
 * It belongs to the address: every pool that lists the server sees it, and a reload that
 * keeps the address keeps it.
 */
export type AdminState = 'up' | 'draining' | 'disabled';

export const ADMIN_STATES: readonly AdminState[] = ['up', 'draining', 'disabled'];

/**
 * Live state of one upstream server, kept per address in a registry apart from the config
 * that names it (Caddy's hosts.go): a reload that still uses the address finds its health,
 * failure count and requests in flight as they were, and a status page can read them all.
 * Configs take a reference per address they use and give it back when they are closed;
 * the state goes away with the last reference.
 */
export class HostState {
  /** Requests (and WebSocket tunnels) currently on this server. */
  inFlight = 0;
  /** The active health check's verdict; true until a check says otherwise. */
  healthy = true;
  /** Passive health (nginx max_fails): failures counted since the last reset. */
  fails = 0;
  /** When the last failure was recorded (nginx `accessed`). */
  lastFailAt = 0;
  /** When the server was last picked after sitting out its fail_timeout (nginx `checked`). */
  checkedAt = 0;
  /** Totals since the state was created, for a status page. */
  requests = 0;
  failures = 0;
  /** Set through the admin API; 'up' unless someone drained or disabled the server. */
  admin: AdminState = 'up';
  readonly #onRelease = new Set<() => void>();

  constructor(readonly address: string) {}

  /** A request starts on this server. */
  begin(): void {
    this.inFlight++;
    this.requests++;
  }

  /** A request on this server is over; waiters for a free slot are told. */
  end(): void {
    this.inFlight--;
    if (this.#onRelease.size > 0) for (const fn of this.#onRelease) fn();
  }

  /** Called whenever a request on this server ends (wait queues of pools with max_conns). */
  onRelease(fn: () => void): () => void {
    this.#onRelease.add(fn);
    return () => this.#onRelease.delete(fn);
  }
}

export interface HostSnapshot {
  address: string;
  admin: AdminState;
  healthy: boolean;
  inFlight: number;
  fails: number;
  requests: number;
  failures: number;
}

export class HostRegistry {
  readonly #hosts = new Map<string, { state: HostState; refs: number }>();
  /**
   * Admin states set for addresses, kept apart from the states themselves: a server a reload
   * drops and a later one lists again, or a worker started after the change, starts in it.
   */
  readonly #admin = new Map<string, AdminState>();

  /** The state of `address`, created on first use; each call must be paired with release(). */
  acquire(address: string): HostState {
    let entry = this.#hosts.get(address);
    if (!entry) {
      entry = { state: new HostState(address), refs: 0 };
      entry.state.admin = this.#admin.get(address) ?? 'up';
      this.#hosts.set(address, entry);
    }
    entry.refs++;
    return entry.state;
  }

  release(address: string): void {
    const entry = this.#hosts.get(address);
    if (!entry) return;
    if (--entry.refs === 0) this.#hosts.delete(address);
  }

  get(address: string): HostState | undefined {
    return this.#hosts.get(address)?.state;
  }

  get size(): number {
    return this.#hosts.size;
  }

  /** Sets the admin state of an address (the server's live state too, if it is in use). */
  setAdmin(address: string, state: AdminState): void {
    if (state === 'up') this.#admin.delete(address);
    else this.#admin.set(address, state);
    const live = this.#hosts.get(address);
    if (live) live.state.admin = state;
  }

  /** Addresses whose admin state is not 'up'. */
  adminOverrides(): [string, AdminState][] {
    return [...this.#admin];
  }

  snapshot(): HostSnapshot[] {
    return [...this.#hosts.values()].map(({ state: s }) => ({
      address: s.address,
      admin: s.admin,
      healthy: s.healthy,
      inFlight: s.inFlight,
      fails: s.fails,
      requests: s.requests,
      failures: s.failures,
    }));
  }
}

/** The process's registry: every compiled config of this process shares it. */
export const hostRegistry = new HostRegistry();
