/**
 * One request's tries on a load-balanced pool (Relay.attempts, group-balancer.ts): the servers
 * tried, the clock of its first try, its place in the pool's wait queue, and the request as
 * the selection policies see it.
 */
import type { Upstream } from '../upstream/upstream.js';
import type { Waiter } from '../upstream/wait-queue.js';
import type { GroupBalancer } from './group-balancer.js';
import type { Relay } from './relay.js';
import { ExchangeSelectRequest } from './select-request.js';

export class Attempts extends ExchangeSelectRequest implements Waiter {
  current: Upstream | null = null;
  tried: Upstream[] | null = null;
  tries = 0;
  firstTryAt = 0;
  /** When waiting in the queue must end (0: never queued). */
  queueDeadline = 0;

  constructor(
    readonly relay: Relay,
    readonly balancer: GroupBalancer,
  ) {
    super(relay.ex);
  }

  resume(): void {
    this.ex.abortUpstream = null;
    this.balancer.start(this.relay);
  }

  expire(): void {
    this.ex.abortUpstream = null;
    const group = this.balancer.group;
    this.balancer.unavailable(this.relay, `waited ${group.queueTimeout}ms for a free upstream in pool ${group.name} (max_conns)`);
  }
}
