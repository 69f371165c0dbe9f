/**
 * How an upstream response's body is delimited, read from its header fields (RFC 9112 §6.3),
 * for both upstream clients: node's parser (h1/) and undici (undici/).
 */
import { isName } from '../http/header-name.js';

/** framingOf(): Transfer-Encoding without Content-Length: the parser reads the body. */
export const TRANSFER_ENCODING = -1;
/** framingOf(): both; Transfer-Encoding wins (RFC 9112 §6.3 rule 3), the connection is not reused. */
export const TE_AND_CL = -2;
/** framingOf(): no usable Content-Length: the parser decides (read until close, or an error). */
export const NO_LENGTH = -3;

/**
 * How a response's body is delimited (RFC 9112 §6.3): its length when exactly one valid
 * Content-Length and no Transfer-Encoding say it, else one of the codes above. What this leaves
 * to the parser and the parser cannot read (a repeated or invalid Content-Length) it rejects.
 */
export function framingOf(headers: readonly string[]): number {
  let lengths = 0;
  let length = NaN;
  let te = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 14 && isName(name, 'content-length')) {
      lengths++;
      const value = headers[i + 1]!;
      length = /^\d+$/.test(value) ? Number(value) : NaN;
    } else if (name.length === 17 && isName(name, 'transfer-encoding')) {
      te = true;
    }
  }
  if (te) return lengths > 0 ? TE_AND_CL : TRANSFER_ENCODING;
  return lengths === 1 && Number.isSafeInteger(length) ? length : NO_LENGTH;
}
