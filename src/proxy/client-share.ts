/**
 * How many requests of one client connection a proxy route has in flight at once (HTTP/2:
 * all streams of the session together); more wait their turn, in order. A client that never
 * reads holds an upstream connection per response once its temp-file share is spent
 * (spool-budget.ts), so without this one HTTP/2 session with 100 streams takes all of an
 * upstream's `keepalive_connections` and every other client waits behind it. nginx has no
 * pool cap (and no such share: its max_conns queue is first come, first served).
 *
 * A request counts from the moment its route takes it until its response is over (sent, or
 * the client gone), so a request still reading its body or a response still draining from a
 * temp file counts too.
 */
import type { Exchange } from '../server/exchange.js';
import type { ErrorLog } from '../log/error-log.js';
import { connectionOf } from '../buffering/spool-budget.js';

interface Slot {
  active: number;
  /** Requests waiting, oldest first. */
  queue: Array<() => void>;
}

export class ClientShare {
  readonly #slots = new WeakMap<object, Slot>();

  constructor(
    readonly limit: number,
    readonly log: ErrorLog,
  ) {}

  /** Runs `go` now, or once another request of the same client connection is done. */
  enter(ex: Exchange, go: (ex: Exchange) => void): void {
    const key = connectionOf(ex.req);
    let slot = this.#slots.get(key);
    if (slot === undefined) this.#slots.set(key, (slot = { active: 0, queue: [] }));
    if (slot.active < this.limit) return this.#run(ex, slot, go);
    const s = slot;
    const waiting = () => {
      try {
        this.#run(ex, s, go);
      } catch (err) {
        // Started from another response's 'close': the dispatcher's error boundary is not around it.
        this.log.error('handler failed', { route: ex.routeName, err: (err as Error).stack });
        ex.res.destroy();
      }
    };
    s.queue.push(waiting);
    // Gone while waiting: nothing was started, nothing to release.
    ex.res.once('close', () => {
      const i = s.queue.indexOf(waiting);
      if (i >= 0) s.queue.splice(i, 1);
    });
  }

  #run(ex: Exchange, slot: Slot, go: (ex: Exchange) => void): void {
    slot.active++;
    ex.res.once('close', () => {
      slot.active--;
      slot.queue.shift()?.();
    });
    go(ex);
  }
}
