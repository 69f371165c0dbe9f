/**
 * `random_two`: the power of two choices (nginx `random two least_conn`, Caddy
 * `random_choose 2`, HAProxy `random(2)`): draw two different servers at random (weighted)
 * and take the one with fewer requests in flight relative to its weight. Nearly as even as
 * least_conn, without every Portico worker piling onto the same "least loaded" server.
 */
import type { Candidate, PolicyDeps, SelectRequest, SelectionPolicy } from './policy.js';
import { weightedRandom } from './weighted-pick.js';

export class RandomTwo implements SelectionPolicy {
  constructor(readonly deps: PolicyDeps) {}

  select<C extends Candidate>(candidates: readonly C[], _req?: SelectRequest): C | undefined {
    const a = weightedRandom(candidates, this.deps.random);
    if (a === undefined) return undefined;
    const b = weightedRandom(candidates, this.deps.random, a);
    if (b === undefined) return a;
    return b.inFlight * a.weight < a.inFlight * b.weight ? b : a;
  }
}
