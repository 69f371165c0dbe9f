/** `random`: a random server, weighted (nginx `random`; Caddy's default policy, unweighted there). */
import type { Candidate, PolicyDeps, SelectRequest, SelectionPolicy } from './policy.js';
import { weightedRandom } from './weighted-pick.js';

export class RandomPolicy implements SelectionPolicy {
  constructor(readonly deps: PolicyDeps) {}

  select<C extends Candidate>(candidates: readonly C[], _req?: SelectRequest): C | undefined {
    return weightedRandom(candidates, this.deps.random);
  }
}
