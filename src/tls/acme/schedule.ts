/**
 * When an ACME certificate is (re)ordered: when there is none, or two thirds into its
 * lifetime (Let's Encrypt's advice; 60 of 90 days); after a failure, not before a growing
 * delay, as Caddy does (its intervals, capped at a day), which stays far below Let's Encrypt's
 * failed-validation limit of 5 per hour per name. Pure, on an injected clock.
 */
import { renewalTime } from '../certificate.js';

const MIN = 60_000;
export const RETRY_DELAYS: readonly number[] = [1 * MIN, 2 * MIN, 5 * MIN, 10 * MIN, 20 * MIN, 30 * MIN, 60 * MIN, 120 * MIN, 360 * MIN, 720 * MIN, 1440 * MIN];

export class RenewalSchedule {
  #failures = 0;
  #notBefore = 0;

  /** Whether an order should start now for a certificate (or none). */
  due(cert: { notBefore: Date; notAfter: Date } | undefined, now: number): boolean {
    if (now < this.#notBefore) return false;
    return cert === undefined || now >= renewalTime(cert);
  }

  /** Records a failure; returns the delay before the next attempt. */
  failed(now: number): number {
    const delay = RETRY_DELAYS[Math.min(this.#failures, RETRY_DELAYS.length - 1)]!;
    this.#failures++;
    this.#notBefore = now + delay;
    return delay;
  }

  succeeded(): void {
    this.#failures = 0;
    this.#notBefore = 0;
  }
}
