/** Policy names in the config -> implementations (the only place the two are wired). */
import type { PolicyDeps, SelectionPolicy } from './policy.js';
import { RoundRobin } from './round-robin.js';
import { LeastConn } from './least-conn.js';
import { RandomPolicy } from './random.js';
import { RandomTwo } from './random-two.js';
import { IpHash } from './ip-hash.js';
import { First } from './first.js';
import { HashPolicy } from './hash.js';
import { CookiePolicy } from './cookie.js';
import { parseHashKey } from '../../config/hash-key.js';

export type SimplePolicyName = 'round_robin' | 'least_conn' | 'random' | 'random_two' | 'ip_hash' | 'first';

export interface PolicyConfig {
  name: SimplePolicyName | 'hash' | 'cookie';
  key?: string | undefined;
  fallback?: SimplePolicyName | undefined;
  cookie?: string | undefined;
  secret?: string | undefined;
  /** Milliseconds. */
  max_age?: number | undefined;
}

const SIMPLE: Record<SimplePolicyName, (deps: PolicyDeps) => SelectionPolicy> = {
  round_robin: () => new RoundRobin(),
  least_conn: () => new LeastConn(),
  random: (deps) => new RandomPolicy(deps),
  random_two: (deps) => new RandomTwo(deps),
  ip_hash: () => new IpHash(),
  first: () => new First(),
};

/** A new policy instance (each keeps its own state, e.g. round robin's scores). */
export function createPolicy(cfg: PolicyConfig, deps: PolicyDeps): SelectionPolicy {
  switch (cfg.name) {
    case 'hash':
      return new HashPolicy(parseHashKey(cfg.key!)!, SIMPLE[cfg.fallback ?? 'random'](deps));
    case 'cookie':
      return new CookiePolicy(
        {
          name: cfg.cookie ?? 'portico_lb',
          secret: cfg.secret ?? '',
          maxAge: cfg.max_age === undefined ? undefined : Math.round(cfg.max_age / 1000),
        },
        SIMPLE[cfg.fallback ?? 'round_robin'](deps),
      );
    default:
      return SIMPLE[cfg.name](deps);
  }
}
