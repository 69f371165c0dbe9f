/** `first`: the first available server in config order (failover; Caddy `first`). */
import type { Candidate, SelectRequest, SelectionPolicy } from './policy.js';

export class First implements SelectionPolicy {
  select<C extends Candidate>(candidates: readonly C[], _req?: SelectRequest): C | undefined {
    for (const c of candidates) if (c.available()) return c;
    return undefined;
  }
}
