/**
 * Only idempotent requests are sent again (RFC 9110 §9.2.2; nginx and Go do the same): the
 * upstream may have run a POST before its connection dropped, and running it twice is worse
 * than a 502.
 */
export const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
