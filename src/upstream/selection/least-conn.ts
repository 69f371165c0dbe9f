/**
 * `least_conn`: the server with the fewest requests in flight relative to its weight (nginx
 * compares conns/weight by cross-multiplying). Ties rotate, so idle equal servers share the
 * load instead of the first one taking every request.
 */
import type { Candidate, SelectRequest, SelectionPolicy } from './policy.js';

export class LeastConn implements SelectionPolicy {
  #offset = 0;

  select<C extends Candidate>(candidates: readonly C[], _req?: SelectRequest): C | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const start = this.#offset++ % n;
    let best: C | undefined;
    for (let i = 0; i < n; i++) {
      const c = candidates[(start + i) % n]!;
      if (!c.available()) continue;
      if (best === undefined || c.inFlight * best.weight < best.inFlight * c.weight) best = c;
    }
    return best;
  }
}
