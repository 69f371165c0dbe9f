/**
 * The request id (X-Request-ID by default; config `request_id`): the one a trusted proxy sent
 * (`trusted_proxies`), or 32 random hex digits made here, as nginx's $request_id. Made on
 * first use only (a log format that writes it, the JSON access log, an error line, the
 * header sent upstream or returned), so a request that needs none pays nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Exchange } from './exchange.js';

let header = 'x-request-id';

/** What an id taken from a proxy may hold: no spaces or controls, at most 200 characters. */
const VALID = /^[A-Za-z0-9._:/+=@-]{1,200}$/;

/** The header name ids are read from (fixed for the life of the process: `request_id` needs a restart). */
export function setRequestIdHeader(name: string): void {
  header = name.toLowerCase();
}

export function requestIdOf(ex: Exchange): string {
  if (ex.requestId !== '') return ex.requestId;
  let id = '';
  if (ex.peerTrusted) {
    const raw = ex.req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2)
      if (raw[i]!.length === header.length && raw[i]!.toLowerCase() === header && VALID.test(raw[i + 1]!)) id = raw[i + 1]!;
  }
  if (id === '') id = randomUUID().replace(/-/g, '');
  return (ex.requestId = id);
}
