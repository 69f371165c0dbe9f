/**
 * Writing a response head, per protocol. Chosen once per node server (an HTTP/1.1 server or
 * the HTTP/2 side of a TLS listener), so no request checks which protocol it is on.
 *
 * Every head is checked by the one head serializer's rules (src/http/head.ts) before node
 * sees it, and refused with a HeadError: node's writeHead would throw ERR_INVALID_CHAR
 * halfway, with the response's status already changed (a fallback 500 then went out as
 * "500 Found"), and node's HTTP/2 writeHead does not check values at all (a header holding
 * CR LF went missing without an error). The lean response (src/server/lean) writes through
 * the serializer itself.
 *
 * HTTP/2 has no reason phrase (RFC 9113 §8.3.2; node warns when given one) and forbids
 * connection-specific headers (RFC 9113 §8.2.2; node throws on them): they are dropped here,
 * which is what they mean anyway on a multiplexed connection. Everything else (order,
 * repeated Set-Cookie) passes through node's flat-array writeHead as on HTTP/1.1.
 */
import type { ServerResponse } from 'node:http';
import { checkFields, checkStatus } from './head.js';

/** Throws a HeadError (src/http/head.ts), before anything is written, for a head it refuses. */
export type HeadWriter = (res: ServerResponse, status: number, reason: string, headers: string[]) => void;

export const writeHeadH1: HeadWriter = (res, status, reason, headers) => {
  if ((res as { checksOwnHead?: boolean }).checksOwnHead !== true) {
    checkStatus(status, reason);
    checkFields(headers);
  }
  if (reason) res.writeHead(status, reason, headers);
  else res.writeHead(status, headers);
};

const H2_FORBIDDEN: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export const writeHeadH2: HeadWriter = (res, status, _reason, headers) => {
  let clean = headers;
  for (let i = 0; i < headers.length; i += 2) {
    if (H2_FORBIDDEN.has(headers[i]!.toLowerCase())) {
      clean = [];
      for (let j = 0; j < headers.length; j += 2) if (!H2_FORBIDDEN.has(headers[j]!.toLowerCase())) clean.push(headers[j]!, headers[j + 1]!);
      break;
    }
  }
  checkStatus(status, '');
  checkFields(clean);
  res.writeHead(status, clean);
};
