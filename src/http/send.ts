/**
 * Writing a response Portico makes itself (respond, redirect, errors), with the route's
 * response header edits applied. Sending never throws: a head that cannot be written (a
 * header the serializer refuses, src/http/head.ts) is logged once and answered with a plain
 * 500 instead; a response that cannot be answered any more is destroyed.
 */
import { STATUS_CODES } from 'node:http';
import type { Exchange } from './exchange.js';
import { applyHeaderOps, type HeaderOps } from './header-ops.js';

const FALLBACK_BODY = '500 Internal Server Error\n';
const FALLBACK_HEADERS = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(FALLBACK_BODY.length)];

export function send(ex: Exchange, status: number, headers: string[], body: string | Buffer, ops: HeaderOps): void {
  const res = ex.res;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  try {
    ex.head(res, status, '', ops.empty ? headers : applyHeaderOps(ops, headers, ex, status));
  } catch (err) {
    ex.errorLog?.error('response head refused', { route: ex.routeName, status, method: ex.req.method, uri: ex.req.url, err: (err as Error)?.message });
    if (!writeHead(ex, 500, FALLBACK_HEADERS)) return void res.destroy();
    status = 500;
    body = FALLBACK_BODY;
  }
  end(ex, status, body);
}

function writeHead(ex: Exchange, status: number, headers: string[]): boolean {
  try {
    ex.head(ex.res, status, '', headers);
    return true;
  } catch {
    return false;
  }
}

function end(ex: Exchange, status: number, body: string | Buffer): void {
  const res = ex.res;
  const noBody = ex.req.method === 'HEAD' || status === 204 || status === 304 || status < 200;
  try {
    if (noBody) {
      res.end();
    } else {
      ex.bytesSent += typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      res.end(body);
    }
  } catch {
    res.destroy(); // the socket is gone: nothing left to tell the client
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
