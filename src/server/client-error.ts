/**
 * Requests node's parser rejects (RFC 9112 violations, smuggling attempts such as both
 * Content-Length and Transfer-Encoding, oversized headers, a head not complete within
 * header_timeout): the right 4xx/5xx, then the connection is closed, since its framing can no
 * longer be trusted.
 */
import type { Socket } from 'node:net';
import type { ErrorLog } from '../log/error-log.js';

const RESPONSES: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADERS_TIMEOUT: '408 Request Timeout',
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
  const status = RESPONSES[err.code ?? ''] ?? (unknownMethod(err) ? '501 Not Implemented' : '400 Bad Request');
  log.debug('bad request from client', { client: socket.remoteAddress, code: err.code, status });
  const body = status + '\n';
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroySoon?.();
}
