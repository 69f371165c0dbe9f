/**
 * client_body_timeout: the time allowed between two reads of a request body, not for the
 * whole body, so a 2 GB upload on a slow line succeeds while a client that stops sending is
 * cut (Traefik's whole-request readTimeout broke uploads: ANCHORS §3.9). It is the client
 * socket's idle timeout while the body is read; node's server reports it as a 'timeout' on
 * the request, and with a listener there node leaves the socket to us.
 */
import type { Exchange } from '../http/exchange.js';

/** Arms the timeout; returns the function that disarms it (once the body is complete). */
export function armBodyTimeout(ex: Exchange, ms: number, onTimeout: () => void): () => void {
  const req = ex.body;
  if (ms <= 0 || req === null) return noop;
  const socket = ex.req.socket;
  if (ex.req.httpVersionMajor === 2) {
    // HTTP/2: the stream's own idle timeout; the session's socket carries other requests.
    req.setTimeout(ms, onTimeout);
    return () => void req.setTimeout(0);
  }
  socket.setTimeout(ms);
  req.on('timeout', onTimeout);
  return () => {
    req.off('timeout', onTimeout);
    // Waiting for the upstream is the upstream's read_timeout's business, not the client's.
    if (!socket.destroyed) socket.setTimeout(0);
  };
}

function noop(): void {}
