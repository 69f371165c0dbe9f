/**
 * Plain HTTP sent to an HTTPS address (`http://host:443/`, a health checker without TLS): told
 * so in a 400 rather than a handshake failure the client shows as an empty reply. nginx does
 * the same (https://nginx.org/en/docs/http/ngx_http_ssl_module.html#errors, its 497 code,
 * answered as "400 The plain HTTP request was sent to HTTPS port").
 *
 * The first bytes decide, before node's TLS sees them: a TLS record starts with 0x16 (a
 * handshake, RFC 8446 §5.1; 0x80 and up is an SSLv2-style hello, which node refuses itself);
 * an HTTP request starts with a method token and a space (RFC 9112 §3). Anything else is
 * neither and is closed. The bytes read go back into the socket for node's TLS to read.
 */
import type { Socket } from 'node:net';
import { responseHead } from '../http/head.js';
import type { ErrorLog } from '../log/error-log.js';
import { LINGER_MS } from '../limits/discard.js';

/** Long enough for any method name and its space; a longer "token" is not a method. */
const METHOD_MAX = 24;
const UPPER = /^[A-Z]+$/;

export const PLAIN_HTTP_BODY = '400 Bad Request: the plain HTTP request was sent to HTTPS port\n';

type Verdict = 'tls' | 'http' | 'other' | 'more';

export function firstBytes(buf: Buffer): Verdict {
  const b = buf[0]!;
  if (b === 0x16 || b >= 0x80) return 'tls';
  const head = buf.toString('latin1', 0, Math.min(buf.length, METHOD_MAX + 1));
  const space = head.indexOf(' ');
  if (space > 0) return UPPER.test(head.slice(0, space)) ? 'http' : 'other';
  return UPPER.test(head) && head.length <= METHOD_MAX ? 'more' : 'other';
}

/**
 * Waits for the connection's first bytes (the caller bounds the wait) and passes the socket on
 * to `tls`, paused, with them put back; answers plain HTTP with the 400; closes anything else.
 */
export function sniffTls(socket: Socket, log: ErrorLog, tls: (socket: Socket) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const verdict = firstBytes(buf);
    if (verdict === 'more') return;
    socket.off('data', onData);
    socket.pause();
    if (verdict === 'tls') {
      socket.unshift(buf);
      return tls(socket);
    }
    if (verdict === 'other') {
      log.debug('tls handshake failed', { client: socket.remoteAddress, code: 'NOT_TLS' });
      return void socket.destroy();
    }
    log.info('plain HTTP request sent to an HTTPS address; answered 400', { client: socket.remoteAddress, address: socket.localAddress, port: socket.localPort });
    answerPlain(socket);
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}

/**
 * The 400, then a lingering close: the rest of the request is read and dropped for a while so
 * the client reads the answer instead of a reset (limits/discard.ts).
 */
function answerPlain(socket: Socket): void {
  const headers = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(PLAIN_HTTP_BODY.length), 'Connection', 'close'];
  socket.end(responseHead(400, 'Bad Request', headers) + PLAIN_HTTP_BODY);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('end', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
}
