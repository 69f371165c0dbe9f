/**
 * Writing a response Portico makes itself (respond, redirect, errors), with the route's
 * response header edits applied.
 */
import { STATUS_CODES } from 'node:http';
import type { Exchange } from '../server/exchange.js';
import { applyHeaderOps, type HeaderOps } from '../compile/header-ops.js';

export function send(ex: Exchange, status: number, headers: string[], body: string | Buffer, ops: HeaderOps): void {
  const res = ex.res;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const finalHeaders = ops.empty ? headers : applyHeaderOps(ops, headers, ex, status);
  const noBody = ex.req.method === 'HEAD' || status === 204 || status === 304 || status < 200;
  ex.head(res, status, '', finalHeaders);
  if (noBody) {
    res.end();
  } else {
    ex.bytesSent += typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    res.end(body);
  }
}

/**
 * A short plain-text error page ("502 Bad Gateway"), like Caddy's empty-bodied errors but
 * readable. `extraHeaders` (Retry-After, WWW-Authenticate) come before the route's edits.
 */
export function sendError(ex: Exchange, status: number, ops: HeaderOps, extraHeaders?: readonly string[]): void {
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  const headers = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length)];
  if (extraHeaders) headers.push(...extraHeaders);
  send(ex, status, headers, body, ops);
}
