/**
 * One mapping from an upstream failure to what the client gets and the log says
 * (nginx: connect failures and bad responses 502, timeouts 504).
 */
export interface UpstreamFailure {
  status: 502 | 504;
  cause: string;
}

export function classifyUpstreamError(err: Error & { code?: string }): UpstreamFailure {
  const code = err.code ?? '';
  switch (code) {
    case 'CONNECT_TIMEOUT':
      return { status: 504, cause: 'connect timeout' };
    case 'READ_TIMEOUT':
      return { status: 504, cause: err.message };
    case 'ECONNREFUSED':
      return { status: 502, cause: 'connection refused' };
    case 'BAD_RESPONSE':
      return { status: 502, cause: err.message };
    case 'CLOSED':
      return { status: 502, cause: err.message };
    case 'ECONNRESET':
    case 'EPIPE':
      return { status: 502, cause: `connection reset by upstream (${code})` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 502, cause: `cannot resolve upstream host (${code})` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { status: 502, cause: `upstream unreachable (${code})` };
    default:
      return { status: 502, cause: code ? `${code}: ${err.message}` : err.message };
  }
}
