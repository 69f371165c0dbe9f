/**
 * `hash`: consistent hashing on the URI, a header or a cookie (nginx `hash KEY consistent`,
 * Caddy `uri_hash` / `header` / `cookie`-less hashing). Requests with the same key go to the
 * same server; adding a server moves about 1/N of the keys. A request without the header or
 * cookie goes to the `fallback` policy.
 */
import { cookieValue, type Candidate, type SelectRequest, type SelectionPolicy } from './policy.js';
import { rendezvous } from './rendezvous.js';
import type { HashKey } from '../../config/hash-key.js';

export class HashPolicy implements SelectionPolicy {
  readonly #keyOf: (req: SelectRequest) => string | undefined;

  constructor(
    key: HashKey,
    readonly fallback: SelectionPolicy,
  ) {
    this.#keyOf =
      key.on === 'uri'
        ? (req) => req.uri
        : key.on === 'header'
          ? (req) => req.header(key.name)
          : (req) => cookieValue(req.header('cookie'), key.name);
  }

  select<C extends Candidate>(candidates: readonly C[], req: SelectRequest): C | undefined {
    const key = this.#keyOf(req);
    if (key === undefined || key === '') return this.fallback.select(candidates, req);
    return rendezvous(candidates, key);
  }
}
