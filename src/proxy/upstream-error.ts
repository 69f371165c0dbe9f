/**
 * One mapping from an upstream failure to what the client gets and the log says
 * (nginx: connect failures and bad responses 502, timeouts 504).
 */
export interface UpstreamFailure {
  status: 502 | 504;
  cause: string;
  /** A keep-alive race: the reused connection was closed by the upstream; safe to retry on a new one. */
  staleConnection: boolean;
}

export function classifyUpstreamError(err: Error & { code?: string }): UpstreamFailure {
  const code = err.code ?? '';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { status: 504, cause: 'connect timeout', staleConnection: false };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { status: 504, cause: 'upstream sent no response headers within read_timeout', staleConnection: false };
    case 'UND_ERR_BODY_TIMEOUT':
      return { status: 504, cause: 'upstream body stalled longer than read_timeout', staleConnection: false };
    case 'ECONNREFUSED':
      return { status: 502, cause: 'connection refused', staleConnection: false };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return { status: 502, cause: `connection closed by upstream (${code})`, staleConnection: true };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 502, cause: `cannot resolve upstream host (${code})`, staleConnection: false };
    default:
      return { status: 502, cause: code ? `${code}: ${err.message}` : err.message, staleConnection: false };
  }
}
