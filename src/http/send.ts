/**
 * Writing a response Portico makes itself (respond, redirect, errors) through the exchange's
 * writer, so the route's response filters (src/filters/: its response_headers first) apply.
 * Sending never throws: a head that cannot be written (a header the serializer refuses,
 * src/http/head.ts) is logged once and answered with a plain 500 instead, through the filters
 * again and, should they make that one fail too, through the bare binding; a response that
 * cannot be answered any more is destroyed.
 */
import { STATUS_CODES } from 'node:http';
import type { Exchange } from './exchange.js';
import type { ResponseWriter } from './response-writer.js';

const FALLBACK_BODY = '500 Internal Server Error\n';
const FALLBACK_HEADERS = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(FALLBACK_BODY.length)];

export function send(ex: Exchange, status: number, headers: string[], body: string | Buffer): void {
  let w = ex.writer;
  if (w.headersSent) {
    w.destroy();
    return;
  }
  try {
    w.writeHead(status, '', headers);
  } catch (err) {
    ex.errorLog?.error('response head refused', { route: ex.routeName, status, method: ex.req.method, uri: ex.req.url, err: (err as Error)?.message });
    const fallback = writeHead(w, 500) ?? (w !== ex.base ? writeHead(ex.base, 500) : undefined);
    if (fallback === undefined) return void w.destroy();
    w = fallback;
    status = 500;
    body = FALLBACK_BODY;
  }
  end(ex, w, status, body);
}

/** The writer that took a plain 500 head, or undefined. */
function writeHead(w: ResponseWriter, status: number): ResponseWriter | undefined {
  try {
    w.writeHead(status, '', FALLBACK_HEADERS.slice());
    return w;
  } catch {
    return undefined;
  }
}

function end(ex: Exchange, w: ResponseWriter, status: number, body: string | Buffer): void {
  const noBody = ex.req.method === 'HEAD' || status === 204 || status === 304 || status < 200;
  try {
    if (noBody) w.end();
    else w.end(body);
  } catch {
    w.destroy(); // the socket is gone: nothing left to tell the client
  }
}

/**
 * A short plain-text error page ("502 Bad Gateway"), like Caddy's empty-bodied errors but
 * readable. `extraHeaders` (Retry-After, WWW-Authenticate) come before the route's edits.
 */
export function sendError(ex: Exchange, status: number, extraHeaders?: readonly string[]): void {
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  const headers = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length)];
  if (extraHeaders) headers.push(...extraHeaders);
  send(ex, status, headers, body);
}
