/**
 * `cookie`: sticky sessions (Caddy `lb_policy cookie`, nginx `sticky cookie`). Portico sets
 * a cookie naming the server that answered, as an HMAC-SHA256 of its address (opaque to the
 * client, and the same for every Portico sharing the secret), and sends later requests
 * carrying it to that server while it is available. The value depends on nothing but the
 * address, so it survives reloads and the other servers' restarts; a client whose server is
 * gone gets another one from the `fallback` policy and a new cookie.
 */
import { createHmac } from 'node:crypto';
import { cookieValue, type Candidate, type SelectRequest, type SelectionPolicy } from './policy.js';

export interface CookieOptions {
  name: string;
  secret: string;
  /** Max-Age in seconds; undefined: a session cookie. */
  maxAge: number | undefined;
}

export class CookiePolicy implements SelectionPolicy {
  readonly #values = new Map<string, string>();
  readonly #attributes: string;

  constructor(
    readonly options: CookieOptions,
    readonly fallback: SelectionPolicy,
  ) {
    this.#attributes = `; Path=/; HttpOnly; SameSite=Lax${options.maxAge === undefined ? '' : `; Max-Age=${options.maxAge}`}`;
  }

  /** The cookie value for a server address. */
  valueFor(key: string): string {
    let v = this.#values.get(key);
    if (v === undefined) {
      v = createHmac('sha256', this.options.secret).update(key).digest('hex').slice(0, 32);
      this.#values.set(key, v);
    }
    return v;
  }

  select<C extends Candidate>(candidates: readonly C[], req: SelectRequest): C | undefined {
    const wanted = cookieValue(req.header('cookie'), this.options.name);
    if (wanted !== undefined) {
      for (const c of candidates) if (this.valueFor(c.key) === wanted && c.available()) return c;
    }
    const chosen = this.fallback.select(candidates, req);
    if (chosen !== undefined) {
      req.setCookie(`${this.options.name}=${this.valueFor(chosen.key)}${this.#attributes}${req.secure ? '; Secure' : ''}`);
    }
    return chosen;
  }
}
