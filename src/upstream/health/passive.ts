/**
 * Passive health, nginx's max_fails / fail_timeout (ngx_http_upstream_round_robin.c):
 *  - every failure (what counts is `fail_on`) increments `fails` and stamps the time;
 *  - a server with `fails >= max_fails` sits out for `fail_timeout` after its last failure;
 *  - then one request is let through (picking it restarts the window, so only one trial
 *    goes per fail_timeout); if it succeeds, `fails` is reset, if not the server sits out again;
 *  - successes in between do not reset the count: failures within fail_timeout of each
 *    other add up even if other requests succeed meanwhile.
 * `max_fails: 0` turns this off. As in nginx, a pool with a single server never marks it down.
 */
import type { Clock } from '../clock.js';
import type { HostState } from '../host-state.js';
import type { Conditions } from '../conditions.js';

export interface PassiveConfig {
  maxFails: number;
  failTimeout: number;
  failOn: Conditions;
}

export class PassiveHealth {
  constructor(
    readonly config: PassiveConfig,
    readonly clock: Clock,
    /** Told when a server reaches max_fails (for the error log). */
    readonly onDisabled: (state: HostState) => void = () => {},
  ) {}

  get enabled(): boolean {
    return this.config.maxFails > 0;
  }

  /** Whether the server may be picked as far as passive health is concerned. */
  allows(s: HostState): boolean {
    if (s.fails < this.config.maxFails || this.config.maxFails === 0) return true;
    return this.clock.now() - s.checkedAt > this.config.failTimeout;
  }

  /** The server was picked for a request. */
  picked(s: HostState): void {
    if (s.fails === 0) return;
    const now = this.clock.now();
    if (now - s.checkedAt > this.config.failTimeout) s.checkedAt = now;
  }

  failed(s: HostState): void {
    s.failures++;
    if (!this.enabled) return;
    const now = this.clock.now();
    s.fails++;
    s.lastFailAt = now;
    s.checkedAt = now;
    if (s.fails === this.config.maxFails) this.onDisabled(s);
  }

  succeeded(s: HostState): void {
    // nginx: "mark peer live if check passed" (accessed < checked).
    if (s.fails > 0 && s.lastFailAt < s.checkedAt) s.fails = 0;
  }
}
