/**
 * The keep-alive race: an upstream closes an idle connection just as Portico sends a request
 * on it. The upstream client reports such a failure as retryable (nothing of the response
 * arrived and none of the body was read: src/upstream/h1/types.ts), and an idempotent request
 * is then sent again to the same server on a new connection, at most twice, as nginx and Go's
 * transport do. It is the same attempt: it counts for neither passive health nor retries.
 */
import { IDEMPOTENT } from './idempotent.js';

/** A keep-alive race is retried on a new connection at most this many times. */
const STALE_RETRIES = 2;

/** @param done how many times this attempt was already sent again */
export function retryStale(retryable: boolean, done: number, method: string, headersSent: boolean): boolean {
  return retryable && done < STALE_RETRIES && !headersSent && IDEMPOTENT.has(method);
}
