/**
 * The listeners of a running server, one per listen address, and how a reload changes them
 * without a moment in which an address that stays refuses a connection:
 *  - a new address is bound first, before anything else changes: a reload that cannot bind one
 *    (in use, not allowed) closes what it bound and leaves the running config serving;
 *  - an address kept with the same kind (HTTP, HTTPS, HTTPS asking for client certificates:
 *    listenerShape) and `client` settings keeps its node servers: update() gives them the new
 *    routes, logs and certificates, and their connections never notice;
 *  - an address whose kind or `client` settings changed gets new node servers, which take over
 *    its listening socket (release()): nothing is unbound, so nothing can fail or be refused;
 *    the old ones drain their connections;
 *  - a removed address stops accepting and drains (idle connections close after a grace,
 *    busy ones after their response), then what is left is closed after `shutdown_timeout`.
 * nginx re-creates the listening sockets a reload changes the same way (its new workers
 * inherit the ones kept); Caddy swaps its servers in place by address.
 */
import { isDeepStrictEqual } from 'node:util';
import type { AddressInfo } from 'node:net';
import type { ListenerPlan } from '../compile/compile.js';
import { listenerShape, type Listener, type ListenerUpdate, type ListeningSocket } from './listeners.js';
import type { ErrorLog } from '../log/error-log.js';

export interface BoundAddress {
  /** The listen key from the config ("*:8080"). */
  key: string;
  host: string;
  port: number;
  /** Whether the address serves HTTPS. */
  tls: boolean;
}

/** How long a draining connection that is idle may still bring its next request (answered with Connection: close). */
export const DRAIN_IDLE_GRACE_MS = 1000;

interface Entry {
  listener: Listener;
  address: BoundAddress;
}

/** A reload's listeners, bound and ready: commit() makes them the running ones, abort() undoes the binding. */
export interface ListenerChange {
  commit(shutdownTimeout: number): void;
  abort(): void;
  /** Addresses bound by this change (for the log). */
  readonly added: readonly BoundAddress[];
  readonly removed: readonly BoundAddress[];
}

export class ListenerSet {
  readonly #live = new Map<string, Entry>();
  /** Listeners a reload removed or replaced, still finishing their connections. */
  readonly #draining = new Set<Listener>();
  /** The bound addresses, in config order; the same array for the life of the server. */
  readonly addresses: BoundAddress[] = [];

  constructor(readonly log: ErrorLog) {}

  get listeners(): Listener[] {
    return [...this.#live.values()].map((e) => e.listener);
  }

  /** The listening socket of every address, for the process that takes over (an upgrade in place). */
  sockets(): { key: string; socket: ListeningSocket }[] {
    const out: { key: string; socket: ListeningSocket }[] = [];
    for (const [key, e] of this.#live) {
      const socket = e.listener.socket();
      if (socket !== null) out.push({ key, socket });
    }
    return out;
  }

  /** At start: binds (or adopts `socket`) and adds one listener. */
  async add(plan: ListenerPlan, listener: Listener, held: boolean, socket?: ListeningSocket): Promise<BoundAddress> {
    const bound = await listener.listen(held, socket);
    const address = boundAddress(plan, bound);
    this.#live.set(plan.key, { listener, address });
    this.addresses.push(address);
    return address;
  }

  /**
   * A reload to `plans`: binds the new addresses (a ListenError when one cannot be; then
   * nothing changed) and returns the change to commit. `make` builds a listener for a plan,
   * `update` what a kept one gets.
   */
  async prepare(plans: readonly ListenerPlan[], make: (plan: ListenerPlan) => Listener, update: (plan: ListenerPlan) => ListenerUpdate): Promise<ListenerChange> {
    const fresh: { plan: ListenerPlan; listener: Listener; address: BoundAddress }[] = [];
    try {
      for (const plan of plans) {
        if (this.#live.has(plan.key)) continue;
        const listener = make(plan);
        const bound = await listener.listen(false);
        fresh.push({ plan, listener, address: boundAddress(plan, bound) });
      }
    } catch (err) {
      for (const f of fresh) {
        f.listener.stopAccepting();
        f.listener.destroyAll();
      }
      throw err;
    }
    const keys = new Set(plans.map((p) => p.key));
    const removed = [...this.#live.entries()].filter(([key]) => !keys.has(key));
    return {
      added: fresh.map((f) => f.address),
      removed: removed.map(([, e]) => e.address),
      abort: () => {
        for (const f of fresh) {
          f.listener.stopAccepting();
          f.listener.destroyAll();
        }
      },
      commit: (shutdownTimeout) => {
        const next = new Map<string, Entry>();
        for (const plan of plans) {
          const added = fresh.find((f) => f.plan === plan);
          if (added !== undefined) {
            next.set(plan.key, { listener: added.listener, address: added.address });
            added.listener.serve();
            continue;
          }
          const kept = this.#live.get(plan.key)!;
          const u = update(plan);
          const port = kept.address.port;
          for (const site of plan.tls ?? []) if (site.httpsPort.port === 0) site.httpsPort.port = port;
          if (kept.listener.shape === listenerShape(plan) && isDeepStrictEqual(kept.listener.client, u.deps.client)) {
            kept.listener.update(plan, u);
            next.set(plan.key, { listener: kept.listener, address: { ...kept.address, key: plan.key } });
            continue;
          }
          // Another kind (HTTP, HTTPS, client certificates) or other client settings: new node
          // servers take the socket over.
          const replacement = make(plan);
          const socket = kept.listener.release();
          if (socket !== null)
            replacement.listen(false, socket).then(
              () => replacement.serve(),
              (err: Error) => this.log.error('a replaced listener could not take over its socket', { address: plan.key, err: err.message }),
            );
          this.#retire(kept.listener, shutdownTimeout);
          next.set(plan.key, { listener: replacement, address: { ...kept.address, tls: plan.tls !== undefined } });
        }
        for (const [, e] of removed) this.#retire(e.listener, shutdownTimeout);
        this.#live.clear();
        for (const [key, e] of next) this.#live.set(key, e);
        this.addresses.splice(0, this.addresses.length, ...[...next.values()].map((e) => e.address));
      },
    };
  }

  /** Stops accepting everywhere (a stop); idle connections close now. */
  stopAccepting(): void {
    for (const e of this.#live.values()) e.listener.stopAccepting();
    for (const l of this.#draining) l.stopAccepting();
  }

  /** Stops accepting everywhere and lets connections go gently (an upgrade in place). */
  drain(): void {
    for (const e of this.#live.values()) e.listener.drain(DRAIN_IDLE_GRACE_MS);
  }

  destroyAll(): void {
    for (const e of this.#live.values()) e.listener.destroyAll();
    for (const l of this.#draining) l.destroyAll();
    this.#draining.clear();
  }

  #retire(listener: Listener, shutdownTimeout: number): void {
    listener.drain(DRAIN_IDLE_GRACE_MS);
    this.#draining.add(listener);
    const timer = setTimeout(() => {
      listener.destroyAll();
      this.#draining.delete(listener);
    }, shutdownTimeout);
    timer.unref();
  }
}

function boundAddress(plan: ListenerPlan, bound: AddressInfo): BoundAddress {
  // Redirects to an HTTPS address given as port 0 need the port it got.
  for (const site of plan.tls ?? []) if (site.httpsPort.port === 0) site.httpsPort.port = bound.port;
  return { key: plan.key, host: bound.address, port: bound.port, tls: plan.tls !== undefined };
}
