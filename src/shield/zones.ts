/**
 * Named limit zones: routes whose limit_req (or limit_conn) name the same `zone` share one
 * counter per key, as locations sharing an nginx limit_req_zone do. A route without a zone
 * name gets a limiter of its own. A zone name used with different rate, key or max_keys is a
 * config error, since one of them would silently win.
 */
import type { LimitConnConfig, LimitReqConfig } from '../config/shield-schema.js';
import { RateLimiter } from './rate-limiter.js';
import { ConnLimiter } from './conn-limiter.js';

export class Zones {
  readonly problems: string[] = [];
  readonly #rate = new Map<string, { limiter: RateLimiter; signature: string; where: string }>();
  readonly #conn = new Map<string, { limiter: ConnLimiter; signature: string; where: string }>();
  readonly #now: (() => number) | undefined;

  constructor(now?: () => number) {
    this.#now = now;
  }

  rate(cfg: LimitReqConfig, where: string): RateLimiter {
    const make = () => new RateLimiter({ rate: cfg.rate, maxKeys: cfg.max_keys, ...(this.#now ? { now: this.#now } : {}) });
    if (cfg.zone === undefined) return make();
    const signature = `rate ${cfg.rate}r/s, key ${cfg.key}, max_keys ${cfg.max_keys}`;
    return this.#shared(this.#rate, cfg.zone, signature, where, make);
  }

  conn(cfg: LimitConnConfig, where: string): ConnLimiter {
    if (cfg.zone === undefined) return new ConnLimiter();
    return this.#shared(this.#conn, cfg.zone, `key ${cfg.key}`, where, () => new ConnLimiter());
  }

  #shared<T>(map: Map<string, { limiter: T; signature: string; where: string }>, zone: string, signature: string, where: string, make: () => T): T {
    const known = map.get(zone);
    if (known === undefined) {
      const limiter = make();
      map.set(zone, { limiter, signature, where });
      return limiter;
    }
    if (known.signature !== signature)
      this.problems.push(`${where}: zone '${zone}' is defined with ${known.signature} at ${known.where}, here with ${signature}; use one definition or another zone name`);
    return known.limiter;
  }
}
