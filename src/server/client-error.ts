/**
 * Requests node's parser rejects (RFC 9112 violations, smuggling attempts such as both
 * Content-Length and Transfer-Encoding, oversized headers, a head not complete within
 * header_timeout): the right 4xx/5xx, then the connection is closed, since its framing can no
 * longer be trusted.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { responseHead } from '../http/head.js';
import type { ErrorLog } from '../log/error-log.js';

const RESPONSES: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADERS_TIMEOUT: 408,
};

/**
 * node's parser knows a fixed list of methods. A well-formed method token it does not know is
 * a method this server does not implement (RFC 9110 §9.1: 501); anything else is malformed (400).
 */
const METHOD_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ /;

function unknownMethod(err: Error & { code?: string; rawPacket?: Buffer }): boolean {
  return err.code === 'HPE_INVALID_METHOD' && err.rawPacket !== undefined && METHOD_TOKEN.test(err.rawPacket.subarray(0, 64).toString('latin1'));
}

interface PendingResponse {
  headersSent: boolean;
  req?: { complete: boolean };
  once(event: 'finish', fn: () => void): unknown;
}

export function onClientError(err: Error & { code?: string }, socket: Socket, log: ErrorLog): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const inProgress = (socket as Socket & { _httpMessage?: PendingResponse | null })._httpMessage;
  // A response already started on this socket cannot be replaced by an error page.
  if (inProgress?.headersSent) {
    socket.destroy();
    return;
  }
  // One not started yet for an earlier pipelined request, complete (its upstream is slow): the
  // error answer follows it, in request order (RFC 9112 §9.3.2), or the client would read the
  // error as that request's answer; its own timeouts bound the wait. (One for the request
  // whose body failed to parse is that request's: the error replaces it.)
  if (inProgress?.req?.complete === true) {
    inProgress.once('finish', () => setImmediate(() => onClientError(err, socket, log)));
    return;
  }
  const status = RESPONSES[err.code ?? ''] ?? (unknownMethod(err) ? 501 : 400);
  log.debug('bad request from client', { client: socket.remoteAddress, code: err.code, status });
  const reason = STATUS_CODES[status]!;
  const body = `${status} ${reason}\n`;
  const headers = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length), 'Connection', 'close'];
  socket.end(responseHead(status, reason, headers) + body);
  socket.destroySoon?.();
}
