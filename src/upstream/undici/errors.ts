/**
 * undici's errors as Portico's UpstreamError codes, named as the h1 client names the same
 * failures, so proxy/upstream-error.ts answers them alike (502 or 504, one log line) and
 * upstream/conditions.ts counts them alike for passive health and retries.
 */
import { REQUEST_HEAD_REFUSED, UpstreamError } from '../h1/types.js';

/** @param afterHead the response head had arrived when the error came. */
export function upstreamError(err: Error & { code?: string }, afterHead: boolean): UpstreamError {
  if (err instanceof UpstreamError) return err; // ours: connect timeout, the client's body
  switch (err.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new UpstreamError('READ_TIMEOUT', 'upstream sent no response headers within read_timeout');
    case 'UND_ERR_BODY_TIMEOUT':
      return new UpstreamError('READ_TIMEOUT', 'upstream body stalled longer than read_timeout');
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new UpstreamError('CONNECT_TIMEOUT', 'connect timeout');
    case 'UND_ERR_HEADERS_OVERFLOW':
      return new UpstreamError('BAD_RESPONSE', 'invalid response from upstream (HPE_HEADER_OVERFLOW)');
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      // undici reports any parser error of a message with a Content-Length this way: in the
      // body, the body was cut short; in the head, the head was malformed (a length like "2x").
      if (afterHead) return new UpstreamError('CLOSED', 'connection closed by upstream before the response was complete');
      return new UpstreamError('BAD_RESPONSE', 'invalid response from upstream (a malformed head)');
    case 'UND_ERR_SOCKET':
      // "other side closed", "closed": the connection ended mid-response; "bad response",
      // "bad upgrade": bytes no request asked for, or an unasked-for 100 or 101.
      if (err.message === 'other side closed') return new UpstreamError('CLOSED', 'connection closed by upstream before the response was complete');
      if (err.message === 'closed') return new UpstreamError('CLOSED', 'connection closed by upstream');
      return new UpstreamError('BAD_RESPONSE', `invalid response from upstream (${err.message})`);
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      // undici refused the request head (a header or target it will not write): nothing was sent.
      return new UpstreamError(REQUEST_HEAD_REFUSED, err.message);
    case 'UND_ERR_DESTROYED':
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_ABORTED':
    case 'UND_ERR_INFO':
      return new UpstreamError('CLOSED', 'connection closed');
    default:
      break;
  }
  // llhttp's refusals come as HTTPParserError, whose code undici leaves unset on some versions.
  if (err.name === 'HTTPParserError') {
    const reason = err.code ?? /\((.*)\)$/.exec(err.message)?.[1] ?? err.message;
    return new UpstreamError('BAD_RESPONSE', `invalid response from upstream (${reason})`);
  }
  // node's own socket and TLS errors (ECONNREFUSED, ECONNRESET, certificate problems) as the
  // h1 client passes them on.
  return new UpstreamError(err.code ?? 'SOCKET', err.message);
}
