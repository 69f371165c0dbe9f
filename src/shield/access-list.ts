/**
 * nginx's allow/deny (ngx_http_access_module): rules in order, the first whose addresses hold
 * the client IP decides; when none does, the request is allowed. The client IP is the one
 * derived through trusted_proxies (nginx with realip), so a deployment behind a load balancer
 * filters real clients, not the balancer.
 */
import { cidrMatcher, type CidrMatcher } from '../http/cidr.js';
import type { AccessConfig } from '../config/shield-schema.js';

interface Rule {
  allow: boolean;
  matcher: CidrMatcher | null; // null: all
}

export class AccessList {
  readonly #rules: Rule[];

  constructor(cfg: AccessConfig) {
    this.#rules = cfg.map((entry) => {
      const allow = 'allow' in entry;
      const list = 'allow' in entry ? entry.allow : entry.deny;
      return { allow, matcher: list.includes('all') ? null : cidrMatcher(list) };
    });
  }

  allows(ip: string): boolean {
    for (const rule of this.#rules) if (rule.matcher === null || rule.matcher.has(ip)) return rule.allow;
    return true;
  }
}
