/**
 * Which upstream outcomes count, in nginx's proxy_next_upstream vocabulary; used both for
 * "what is a failure" (passive health, `fail_on`) and "what is retried" (`retry.on`):
 *   error      the connection failed, was reset or closed early, or the response was invalid
 *   timeout    connect_timeout or read_timeout ran out
 *   http_NNN   the upstream answered with status NNN (500-599, or 429)
 *   http_5xx   any 500-599
 *   non_idempotent  (retry.on only) the above may resend a non-idempotent request once sent
 */
export interface Conditions {
  readonly error: boolean;
  readonly timeout: boolean;
  /** nginx's non_idempotent: a POST (or another non-idempotent method) may be sent again after it was sent. */
  readonly nonIdempotent: boolean;
  /** Whether a response with this status counts. */
  status(code: number): boolean;
  /** True when no status counts (the response path can skip the check). */
  readonly noStatus: boolean;
}

export function compileConditions(tokens: readonly string[]): Conditions {
  const codes = new Set<number>();
  let any5xx = false;
  for (const t of tokens) {
    if (t === 'http_5xx') any5xx = true;
    else if (t.startsWith('http_')) codes.add(Number(t.slice(5)));
  }
  return {
    error: tokens.includes('error'),
    timeout: tokens.includes('timeout'),
    nonIdempotent: tokens.includes('non_idempotent'),
    status: (code) => (any5xx && code >= 500 && code <= 599) || codes.has(code),
    noStatus: !any5xx && codes.size === 0,
  };
}

export type FailureKind = 'error' | 'timeout';

/** An upstream error's kind: timeouts are `timeout`, everything else is `error`. */
export function failureKind(code: string): FailureKind {
  return code === 'CONNECT_TIMEOUT' || code === 'READ_TIMEOUT' ? 'timeout' : 'error';
}
