/**
 * A route's guards and its handler as one RouteHandler (hono's compose.ts is the model). The
 * chain is built here once, when the config is compiled: a request walks precomposed steps
 * and allocates nothing for it, and a route without guards is its handler itself (as Hono
 * skips compose for a single handler). The order of the guards is decided in one place,
 * src/shield/guards.ts (routeGuards), and the whole route in src/compile/route-chain.ts.
 *
 * Each step checks that it is entered once: a guard that calls next() twice would run the
 * handler twice on one response, so the second call throws (into the dispatcher's error
 * boundary when it is synchronous), as Hono rejects it.
 */
import type { Duplex } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import type { Guard, Next, RouteHandler } from '../http/route-handler.js';

export function compose(guards: readonly Guard[], handler: RouteHandler): RouteHandler {
  if (guards.length === 0) return handler;
  const handle = chain(guards, (ex) => handler.handle(ex));
  const composed: RouteHandler = {
    handle(ex) {
      ex.stage = 0;
      handle(ex);
    },
  };
  if (handler.upgrade !== undefined) {
    const checks = guards.filter((g) => g.upgrades);
    // An upgrade's last step needs its socket: its chain is built per request (upgrades are rare).
    const upgrade = (ex: Exchange, socket: Duplex, head: Buffer): void => handler.upgrade!(ex, socket, head);
    composed.upgrade =
      checks.length === 0
        ? upgrade
        : (ex, socket, head) => {
            ex.stage = 0;
            chain(checks, (e) => upgrade(e, socket, head))(ex);
          };
  }
  return composed;
}

/** The guards in order, then `last`, each step entered at most once per request. */
function chain(guards: readonly Guard[], last: Next): Next {
  let next = step(guards.length, 'the handler', last);
  for (let i = guards.length - 1; i >= 0; i--) {
    const guard = guards[i]!;
    const after = next;
    next = step(i, guard.name, (ex) => guard.check(ex, after));
  }
  return next;
}

function step(stage: number, name: string, run: Next): Next {
  return (ex) => {
    if (ex.stage !== stage) throw new Error(`next() called twice: ${name} entered again (${ex.routeName})`);
    ex.stage = stage + 1;
    run(ex);
  };
}
