/**
 * One mapping from an upstream failure to what the client gets and the log says
 * (nginx: connect failures and bad responses 502, timeouts 504), and the answer itself.
 */
import type { Exchange } from '../http/exchange.js';
import { sendError } from '../http/send.js';
import type { ErrorLog } from '../log/error-log.js';
import { REQUEST_HEAD_REFUSED, type UpstreamError } from '../upstream/h1/types.js';

export interface UpstreamFailure {
  status: 502 | 504;
  cause: string;
  /** nginx's word for it in proxy_cache_use_stale / proxy_next_upstream. */
  kind: 'error' | 'timeout' | 'invalid_header';
}

export function classifyUpstreamError(err: Error & { code?: string }): UpstreamFailure {
  const code = err.code ?? '';
  switch (code) {
    case 'CONNECT_TIMEOUT':
      return { status: 504, cause: 'connect timeout', kind: 'timeout' };
    case 'READ_TIMEOUT':
      return { status: 504, cause: err.message, kind: 'timeout' };
    case 'ECONNREFUSED':
      return { status: 502, cause: 'connection refused', kind: 'error' };
    case 'BAD_RESPONSE':
      return { status: 502, cause: err.message, kind: 'invalid_header' };
    case 'CLOSED':
      return { status: 502, cause: err.message, kind: 'error' };
    case 'ECONNRESET':
    case 'EPIPE':
      return { status: 502, cause: `connection reset by upstream (${code})`, kind: 'error' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 502, cause: `cannot resolve upstream host (${code})`, kind: 'error' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { status: 502, cause: `upstream unreachable (${code})`, kind: 'error' };
    default:
      return { status: 502, cause: code ? `${code}: ${err.message}` : err.message, kind: 'error' };
  }
}

/**
 * The client's answer to a failed try: a request head Portico itself refused (head.ts) is a
 * 500 and not the upstream's failure; anything else is logged as one and answered 502/504.
 */
export function answerFailure(ex: Exchange, log: ErrorLog, err: UpstreamError, address: string): void {
  if (err.code === REQUEST_HEAD_REFUSED) {
    log.error('request head refused', { route: ex.routeName, upstream: address, method: ex.req.method, uri: ex.req.url, err: err.message });
    return sendError(ex, 500);
  }
  const failure = classifyUpstreamError(err);
  ex.upstreamFailed = failure.kind;
  failResponse(ex, log, failure.cause, failure.status);
}

/** One error-log line; an error page, or a cut connection once the response started. */
export function failResponse(ex: Exchange, log: ErrorLog, cause: string, status: number): void {
  log.upstreamFailure(ex, cause, status);
  if (ex.writer.headersSent) ex.writer.destroy();
  else sendError(ex, status);
}
