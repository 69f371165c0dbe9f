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
import type { Exchange } from '../http/exchange.js';
import type { ErrorLog } from '../log/error-log.js';

/** One client connection's requests on one route. */
class Slot {
  active = 0;
  /** Requests waiting, oldest first. */
  readonly queue: Waiting[] = [];

  constructor(readonly log: ErrorLog) {}

  /** A request's response is over (made once per slot: nothing allocated per request). */
  readonly release = (): void => {
    this.active--;
    for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
      // A waiting request's own 'close' takes it out of the queue, but a session torn down
      // closes every stream at once: one whose 'close' is still to come must not start.
      if (next.ex.writer.destroyed) continue;
      try {
        run(next.ex, this, next.go);
      } catch (err) {
        // Started from another response's 'close': the dispatcher's error boundary is not around it.
        this.log.error('handler failed', { route: next.ex.routeName, err: (err as Error).stack });
        next.ex.writer.destroy();
      }
      return;
    }
  };
}

interface Waiting {
  ex: Exchange;
  go: (ex: Exchange) => void;
}

export class ClientShare {
  readonly #slots = new WeakMap<object, Slot>();

  constructor(
    readonly limit: number,
    readonly log: ErrorLog,
  ) {}

  /** Runs `go` now, or once another request of the same client connection is done. */
  enter(ex: Exchange, go: (ex: Exchange) => void): void {
    const key = ex.connection;
    let slot = this.#slots.get(key);
    if (slot === undefined) this.#slots.set(key, (slot = new Slot(this.log)));
    if (slot.active < this.limit) return run(ex, slot, go);
    const waiting: Waiting = { ex, go };
    const queue = slot.queue;
    queue.push(waiting);
    // Gone while waiting: nothing was started, nothing to release.
    ex.writer.onClose(() => {
      const i = queue.indexOf(waiting);
      if (i >= 0) queue.splice(i, 1);
    });
  }
}

function run(ex: Exchange, slot: Slot, go: (ex: Exchange) => void): void {
  slot.active++;
  ex.writer.onClose(slot.release);
  go(ex);
}
