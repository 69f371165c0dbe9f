/** `first`: the first available server in config order (failover; Caddy `first`). */
import type { Candidate, SelectionPolicy } from './policy.js';

export class First implements SelectionPolicy {
  select<C extends Candidate>(candidates: readonly C[]): C | undefined {
    for (const c of candidates) if (c.available()) return c;
    return undefined;
  }
}
