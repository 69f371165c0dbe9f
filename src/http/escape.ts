/**
 * Request text made safe for where a template puts it (src/http/template.ts decides which
 * escape, once, when the config is compiled). Request text comes in two kinds:
 *  - decoded text: the normalized path (nginx's $uri) and regex captures of it. The client
 *    percent-encoded it, so after decoding it may hold anything, CR and LF included
 *    ("GET /a%0d%0aX:%20y"), and characters above 0xFF;
 *  - bytes: the request target, query and header values as node's parser read them (latin1,
 *    one character per byte), already in their wire form.
 * Each escape percent-encodes (RFC 3986 §2.1; UTF-8 for characters above 0x7F of decoded
 * text, RFC 3986 §2.5) only what may not stand where the text lands, and returns its input
 * unchanged, without allocating, when there is nothing to escape (one regex test).
 */

export type Escape = (s: string) => string;

const HEX: string[] = [];
for (let b = 0; b < 256; b++) HEX.push('%' + b.toString(16).toUpperCase().padStart(2, '0'));

const enum High {
  /** 0x80-0xFF are bytes that may stay as they are (obs-text in a field value). */
  Keep,
  /** 0x80-0xFF are bytes, percent-encoded one by one. */
  Byte,
  /** Everything above 0x7F is a character, percent-encoded as its UTF-8 bytes. */
  Utf8,
}

function escaper(keep: string, high: High): Escape {
  const table = new Uint8Array(128);
  let cls = '';
  for (const c of keep) {
    const code = c.charCodeAt(0);
    table[code] = 1;
    cls += '\\x' + code.toString(16).padStart(2, '0');
  }
  if (high === High.Keep) cls += '\\x80-\\xff';
  const needs = new RegExp(`[^${cls}]`);
  return (s) => (needs.test(s) ? encode(s, table, high) : s);
}

function encode(s: string, table: Uint8Array, high: High): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 ? table[c] === 1 : c <= 0xff && high === High.Keep) continue;
    out += s.slice(from, i);
    if (c < 128 || (c <= 0xff && high === High.Byte)) {
      out += HEX[c];
    } else {
      let cp = c;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const low = s.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
          i++;
        }
      }
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // a lone surrogate has no UTF-8 form
      out += utf8(cp);
    }
    from = i + 1;
  }
  return out + s.slice(from);
}

function utf8(cp: number): string {
  if (cp < 0x800) return HEX[0xc0 | (cp >> 6)]! + HEX[0x80 | (cp & 63)]!;
  if (cp < 0x10000) return HEX[0xe0 | (cp >> 12)]! + HEX[0x80 | ((cp >> 6) & 63)]! + HEX[0x80 | (cp & 63)]!;
  return HEX[0xf0 | (cp >> 18)]! + HEX[0x80 | ((cp >> 12) & 63)]! + HEX[0x80 | ((cp >> 6) & 63)]! + HEX[0x80 | (cp & 63)]!;
}

const VCHAR_SP = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~';
const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';

/**
 * Decoded text in a field value: controls (CR, LF, NUL, HTAB...), DEL and every non-ASCII
 * character are percent-encoded, the rest of printable ASCII stays (RFC 9110 §5.5). nginx
 * writes $uri's bytes as they are, which is how `add_header X $uri` injects header lines.
 */
export const fieldFromText: Escape = escaper(VCHAR_SP, High.Utf8);

/** Bytes in a field value: controls but HTAB, and DEL, are percent-encoded; obs-text stays. */
export const fieldFromBytes: Escape = escaper('\t' + VCHAR_SP, High.Keep);

/**
 * Decoded text in the path of a URI (Location, redirect target): what RFC 3986 §3.3 allows
 * in a path (unreserved, sub-delims, ":", "@", "/") stays; "%", "?", "#", spaces, controls
 * and non-ASCII are percent-encoded, so the text stays path text.
 */
export const pathFromText: Escape = escaper(UNRESERVED + "!$&'()*+,;=:@/", High.Utf8);

/**
 * Decoded text in a query (after a "?" of the template): as nginx escapes arguments
 * (NGX_ESCAPE_ARGS), "&", "+", ";", "?", "#" and "%" are encoded too, so a capture cannot
 * add parameters of its own.
 */
export const queryFromText: Escape = escaper(UNRESERVED + "!$'()*,/:=@", High.Utf8);

/**
 * Bytes already in wire form (a request target, a query, a header value) in a URI: what no
 * URI may hold (RFC 3986 §2: controls, space, DEL, non-ASCII, and `"<>\^`{|}`) is
 * percent-encoded; "%", "?", "#" and the other delimiters keep their meaning.
 */
export const uriFromBytes: Escape = escaper(UNRESERVED + ":/?#[]@!$&'()*+,;=%", High.Byte);
