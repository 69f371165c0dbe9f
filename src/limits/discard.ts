/**
 * Answering before the request body was read (413, 401, 403, 429, ...). The rest of the body
 * is read and dropped, so the client reads our answer instead of a reset: closing a socket
 * with unread bytes makes the kernel send RST, which can destroy the response in the
 * client's receive buffer (nginx's lingering_close exists for this). On a keep-alive
 * connection the next request follows; when the connection closes after the answer (the
 * client said `Connection: close`), it is half-closed and drained before it is destroyed.
 * A client still sending after LINGER_MS is disconnected, so the discard is bounded.
 */
import type { Socket } from 'node:net';
import type { Exchange } from '../http/exchange.js';
import { sendError } from '../http/send.js';

/** nginx lingering_timeout. */
export const LINGER_MS = 5000;

export function discardBody(ex: Exchange): void {
  const req = ex.body;
  if (req === null || req.complete || req.destroyed) return;
  if (ex.req.httpVersionMajor === 2) {
    // HTTP/2 frames each stream: the rest of this one is dropped, no lingering needed.
    req.resume();
    return;
  }
  const socket = ex.req.socket;
  socket.setTimeout(0); // a body timeout armed earlier no longer applies; LINGER_MS does
  const timer = setTimeout(() => {
    if (!req.complete) socket.destroy();
  }, LINGER_MS);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  // node's http server ends a connection it will not keep with socket.destroySoon(), which
  // destroys it as soon as our answer is written; linger instead (an own property of this
  // one socket: every other connection keeps node's behaviour).
  (socket as Socket & { destroySoon: () => void }).destroySoon = lingeringClose;
  req.resume();
}

function lingeringClose(this: Socket): void {
  this.end(); // FIN after the answer; the client's remaining bytes are still read and dropped
  const timer = setTimeout(() => this.destroy(), LINGER_MS);
  timer.unref();
  this.once('end', () => this.destroy());
  this.once('close', () => clearTimeout(timer));
}

/** An error response to a request whose body will not be used, then the body is discarded. */
export function rejectRequest(ex: Exchange, status: number, extraHeaders?: readonly string[]): void {
  sendError(ex, status, extraHeaders);
  discardBody(ex);
}
