/**
 * The per-request side of client certificates (src/tls/client-auth.ts): before the server's
 * rewrite steps and routes (nginx checks in ngx_http_process_request, before any phase), the
 * connection's certificate is verified for the server the request's Host chose; a request the
 * server's `verify` refuses gets nginx's 400 (its 496 "No required SSL certificate was sent" or
 * 495 "The SSL certificate error", answered as 400), with the response headers of the route the
 * request would have reached (nginx adds the server's `add_header ... always` there too).
 * The verdict is kept on the exchange for $ssl_client_verify and the other $ssl_client_*.
 */
import type { TLSSocket } from 'node:tls';
import type { Exchange } from '../http/exchange.js';
import { NO_HEADER_OPS, type HeaderOps } from '../http/header-ops.js';
import { send } from '../http/send.js';
import { NO_CERTIFICATE, verdictOf, type ClientAuth } from '../tls/client-auth.js';
import type { Rewrites } from '../compile/rewrite.js';

const NONE = { kind: 'none' } as const;
const ANSWERED = { kind: 'answered' } as const;

/** The server's steps with the check first; `headersFor` finds the route a request would reach. */
export function checkClientCertificates(auth: ClientAuth, steps: Rewrites | undefined, headersFor: (ex: Exchange) => HeaderOps | undefined): Rewrites {
  return (ex) => {
    const socket = ex.req.socket as TLSSocket | null;
    const verdict = socket?.encrypted === true ? verdictOf(socket, auth) : auth.verify === 'on' ? { ...NO_CERTIFICATE, refuse: 'No required SSL certificate was sent' as const } : NO_CERTIFICATE;
    ex.tlsClient = verdict;
    if (verdict.refuse !== undefined) {
      const body = `400 Bad Request\n${verdict.refuse}\n`;
      ex.res.shouldKeepAlive = false; // nginx closes after its 400 pages
      send(ex, 400, ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length)], body, headersFor(ex) ?? NO_HEADER_OPS);
      return ANSWERED;
    }
    return steps ? steps(ex) : NONE;
  };
}
