/**
 * Bare LF line ends in a request head, read as nginx reads them. RFC 9112 §2.2 lets a recipient
 * recognise a single LF as a line terminator (and ignore a preceding CR); nginx does
 * (ngx_http_parse_request_line / ngx_http_parse_header_line: `case LF` ends a line wherever
 * `case CR` may), and clients such as nginx's own test suite send `GET / HTTP/1.0\nHost: x\n\n`.
 * node's parser (llhttp) accepts them only through lenient flags whose request-line handling
 * also takes a bare CR as a line end, or two LFs as one, which nginx refuses or reads otherwise.
 * So the head is made CRLF here, before the strict parser sees it, and nothing else changes:
 *   - a head ends at its first empty line (`\n` or `\r\n` alone), as nginx reads it; the CR/LF
 *     bytes before the request-line are left alone (both parsers skip them);
 *   - each LF not preceded by CR gets one; every other byte, a bare CR included (which the
 *     strict parser then refuses, as nginx does), stays as it is;
 *   - the bytes after the head (a body, the next request) are not touched.
 * Where a line ends is therefore decided exactly as nginx decides it, and the upstream never
 * sees these bytes anyway: Portico writes its own heads.
 */

const LF = 0x0a;
const CR = 0x0d;

export type HeadScan =
  /** The head is complete: `bytes` is the input with the head's bare LFs made CRLF (the input itself when it had none). */
  | { complete: true; bytes: Buffer; changed: boolean }
  /** No empty line yet; `bareLf`: a line so far ended in a bare LF (the strict parser would refuse it). */
  | { complete: false; bareLf: boolean };

export function crlfHead(buf: Buffer): HeadScan {
  let start = 0;
  while (start < buf.length && (buf[start] === CR || buf[start] === LF)) start++;
  let bare: number[] | undefined;
  let lineStart = start;
  for (let lf = buf.indexOf(LF, start); lf !== -1; lf = buf.indexOf(LF, lf + 1)) {
    const crlf = lf > 0 && buf[lf - 1] === CR;
    if (!crlf) (bare ??= []).push(lf);
    const empty = lf === lineStart || (crlf && lf - 1 === lineStart);
    if (empty) {
      if (bare === undefined) return { complete: true, bytes: buf, changed: false };
      return { complete: true, bytes: insertCrs(buf, bare), changed: true };
    }
    lineStart = lf + 1;
  }
  return { complete: false, bareLf: bare !== undefined };
}

function insertCrs(buf: Buffer, at: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(buf.length + at.length);
  let from = 0;
  let to = 0;
  for (const lf of at) {
    to += buf.copy(out, to, from, lf);
    out[to++] = CR;
    from = lf;
  }
  buf.copy(out, to, from);
  return out;
}
