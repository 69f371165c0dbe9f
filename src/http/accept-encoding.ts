/**
 * Accept-Encoding (RFC 9110 §12.5.3): which of the codings a server offers a client takes,
 * best first. Shared by precompressed sidecars (src/files/precompressed.ts) and on-the-fly
 * compression (src/filters/compress.ts), so both read a header the same way:
 *  - `q=0` refuses a coding; a higher q wins; ties go to the server's order (Caddy: the order
 *    of `encode`/`precompressed`);
 *  - `*` weighs every coding the header does not name; `x-gzip` is gzip (§8.4.1.3);
 *  - identity competes only when the client weighed it ("identity;q=1", or through `*`): an
 *    unlisted identity is acceptable but not preferred, so "gzip;q=0.8" still gets gzip, and
 *    "gzip;q=0.5, identity" gets the plain bytes;
 *  - a missing or empty header asks for no coding (§12.5.3: empty means identity only; nginx
 *    and Caddy compress nothing without the header either);
 *  - an entry whose weight is not a qvalue (§12.4.2: 0 to 1, three decimals at most) is
 *    ignored, as if it were not there.
 */

export type ContentCoding = 'br' | 'zstd' | 'gzip';

export type CodingChooser = (acceptEncoding: string | undefined) => readonly ContentCoding[];

const NONE: readonly ContentCoding[] = [];

/** A qvalue (RFC 9110 §12.4.2). */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** Compiled once (per route): Accept-Encoding -> the configured codings the client takes, best first. */
export function codingChooser(configured: readonly ContentCoding[]): CodingChooser {
  if (configured.length === 0) return () => NONE;
  // Browsers send a handful of distinct values; remember them (bounded: a client sending a
  // new value each time only costs the parse).
  const memo = new Map<string, readonly ContentCoding[]>();
  return (header) => {
    if (header === undefined || header === '') return NONE;
    let found = memo.get(header);
    if (found === undefined) {
      found = chooseCodings(header, configured);
      if (memo.size >= 64) memo.clear();
      memo.set(header, found);
    }
    return found;
  };
}

/** The pure choice (see the top of the file). */
export function chooseCodings(header: string, configured: readonly ContentCoding[]): readonly ContentCoding[] {
  const q = new Map<string, number>();
  for (const item of header.split(',')) {
    const semi = item.indexOf(';');
    const token = (semi < 0 ? item : item.slice(0, semi)).trim().toLowerCase();
    if (token === '') continue;
    let weight = 1;
    let valid = true;
    if (semi >= 0) {
      for (const param of item.slice(semi + 1).split(';')) {
        const eq = param.indexOf('=');
        if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
        const text = param.slice(eq + 1).trim();
        if (!QVALUE.test(text)) valid = false;
        else weight = Number(text);
      }
    }
    if (!valid) continue;
    const name = token === 'x-gzip' ? 'gzip' : token;
    // A coding named twice: the higher weight (a client has no reason to send both).
    const before = q.get(name);
    if (before === undefined || weight > before) q.set(name, weight);
  }
  const star = q.get('*');
  const weightOf = (c: string) => q.get(c) ?? star ?? 0;
  const identity = weightOf('identity');
  const ranked: { c: ContentCoding; i: number; w: number }[] = [];
  configured.forEach((c, i) => {
    const w = weightOf(c);
    if (w > 0 && w >= identity) ranked.push({ c, i, w });
  });
  if (ranked.length === 0) return NONE;
  return ranked.sort((a, b) => b.w - a.w || a.i - b.i).map((x) => x.c);
}
