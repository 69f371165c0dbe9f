/**
 * `round_robin`: nginx's smooth weighted round robin (ngx_http_upstream_get_peer). Every pick
 * adds each available server's weight to its running score, takes the highest, and takes the
 * total back off the winner. Weights 5, 1, 1 give a a b a c a a: the heavy server's turns are
 * spread out instead of bunched, and over any window of sum(weights) picks each server gets
 * exactly its weight. Equal weights make it plain round robin.
 */
import type { Candidate, SelectRequest, SelectionPolicy } from './policy.js';

export class RoundRobin implements SelectionPolicy {
  /** Running score per server. */
  readonly #current = new Map<Candidate, number>();

  select<C extends Candidate>(candidates: readonly C[], _req?: SelectRequest): C | undefined {
    let best: C | undefined;
    let bestScore = 0;
    let total = 0;
    for (const c of candidates) {
      if (!c.available()) continue;
      const score = (this.#current.get(c) ?? 0) + c.weight;
      this.#current.set(c, score);
      total += c.weight;
      if (best === undefined || score > bestScore) {
        best = c;
        bestScore = score;
      }
    }
    if (best !== undefined) this.#current.set(best, bestScore - total);
    return best;
  }
}
