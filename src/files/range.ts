/**
 * Range requests (RFC 9110 §14): "bytes=" sets parsed against the representation's size, and
 * the multipart/byteranges layout for several ranges (§14.6).
 */

/** Inclusive byte positions. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** More ranges than this is not a client reading a file: serve the whole file (§14.2 allows ignoring). */
const MAX_RANGES = 32;

/**
 * The ranges to send; 'unsatisfiable' for a 416; undefined when the header is ignored
 * (another unit, bad syntax, too many ranges), which means a plain 200.
 */
export function parseRange(header: string, size: number): ByteRange[] | 'unsatisfiable' | undefined {
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined;
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length === 0 || specs.length > MAX_RANGES) return undefined;
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const m = /^(\d*)-(\d*)$/.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return undefined;
    if (m[1] === '') {
      // suffix-range: the last N bytes
      const n = Number(m[2]);
      if (n === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(m[1]);
    const last = m[2] === '' ? Infinity : Number(m[2]);
    if (last < start) return undefined; // §14.1.1: invalid, so the header is ignored
    if (start >= size) continue; // unsatisfiable on its own
    ranges.push({ start, end: Math.min(last, size - 1) });
  }
  if (ranges.length === 0) return 'unsatisfiable';
  return coalesce(ranges);
}

/** §14.6: overlapping ranges may be merged; otherwise parts keep the request's order. */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  if (ranges.length === 1) return ranges;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let overlap = false;
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.start <= sorted[i - 1]!.end + 1) overlap = true;
  if (!overlap) return ranges;
  const out: ByteRange[] = [{ ...sorted[0]! }];
  for (const r of sorted.slice(1)) {
    const top = out[out.length - 1]!;
    if (r.start <= top.end + 1) out[out.length - 1] = { start: top.start, end: Math.max(top.end, r.end) };
    else out.push(r);
  }
  return out;
}

/** A piece of a response body: bytes of our own, or a range of the file. */
export type Piece = Buffer | ByteRange;

/** The body of a multipart/byteranges response as pieces, and its exact length. */
export function byteranges(ranges: readonly ByteRange[], contentType: string, size: number, boundary: string): { pieces: Piece[]; length: number } {
  const pieces: Piece[] = [];
  let length = 0;
  for (const r of ranges) {
    const head = Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`, 'latin1');
    pieces.push(head, r);
    length += head.length + r.end - r.start + 1;
  }
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  pieces.push(tail);
  return { pieces, length: length + tail.length };
}
