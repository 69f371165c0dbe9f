/**
 * The upstream addresses of one proxy route. Selection is plain round robin for now; load
 * balancing policies and health state (issue 6) plug in here.
 */
import type { UpstreamAddress } from '../config/address.js';

export class UpstreamSet<T> {
  readonly #members: readonly T[];
  #next = 0;

  constructor(members: readonly T[]) {
    if (members.length === 0) throw new Error('an upstream set needs at least one member');
    this.#members = members;
  }

  pick(): T {
    if (this.#members.length === 1) return this.#members[0]!;
    const member = this.#members[this.#next]!;
    this.#next = (this.#next + 1) % this.#members.length;
    return member;
  }
}

export type { UpstreamAddress };
