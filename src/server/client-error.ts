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

export function onClientError(err: Error & { code?: string }, socket: Socket, log: ErrorLog): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  // A response already started on this socket cannot be replaced by an error page.
  const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (inProgress?.headersSent) {
    socket.destroy();
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
