/**
 * A `return` among a route's rewrite steps (compile/rewrite.ts) is not answered while the steps
 * run but by the route's chain, after its guards: a `return` in a location behind auth_basic,
 * allow/deny or a limit stays behind them (nginx answers it in the rewrite phase, before its
 * access phase; Portico is stricter, as with a `return` that is a route's handler). The steps
 * leave the answer on the exchange (ex.answer); the handler's place in the chain runs it.
 */
import type { RewriteStepConfig } from '../config/schema.js';
import type { RouteHandler } from '../http/route-handler.js';

/** Whether steps hold a `return` (respond or redirect), inside `if`s too. */
export function hasAnswers(steps: readonly RewriteStepConfig[] | undefined): boolean {
  return (steps ?? []).some((s) => 'respond' in s || 'redirect' in s || ('if' in s && hasAnswers(s.then)));
}

/** The route's handler, unless its steps picked a `return` (ex.answer). */
export function answerFirst(own: RouteHandler): RouteHandler {
  const handler: RouteHandler = {
    handle: (ex) => {
      const answer = ex.answer;
      if (answer === null) return own.handle(ex);
      ex.answer = null;
      answer(ex);
    },
  };
  const upgrade = own.upgrade;
  if (upgrade !== undefined) {
    // An upgrade request that a `return` answers gets that answer on its raw socket, which
    // closes after it (ex.writer writes to the socket).
    handler.upgrade = (ex, socket, head) => {
      const answer = ex.answer;
      if (answer === null) return upgrade.call(own, ex, socket, head);
      ex.answer = null;
      answer(ex);
    };
  }
  return handler;
}
