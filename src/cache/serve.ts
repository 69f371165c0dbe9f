/**
 * Answers a request from a stored entry: its status and headers as stored, with Age (RFC 9111
 * §5.1: MUST on a response served from a cache without validation), the exact Content-Length,
 * and the cache status header when the route names one; the client's conditional headers
 * (304 / 412) and Range (206, multipart/byteranges, 416) evaluated against the stored 200, as
 * nginx's not_modified and range filters do for cached responses; HEAD gets the head only.
 * The body comes from memory or from the file a chunk at a time, at the client's pace
 * (files/stream-file.ts), the range logic from files/range.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Exchange } from '../http/exchange.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { byteranges, parseRange, type ByteRange, type Piece } from '../files/range.js';
import { streamPieces, writePieces } from '../files/stream-file.js';
import { nodeFs } from '../files/fs-binding.js';
import type { Stored } from './zone.js';
import { closeFile } from './zone.js';
import type { IndexEntry } from './cache-index.js';
import { evaluateCached, ifRangeMatches } from './conditional.js';

export type CacheStatus = 'HIT' | 'MISS' | 'EXPIRED' | 'STALE' | 'UPDATING' | 'REVALIDATED' | 'BYPASS';

export interface ServeOptions {
  /** The route's cache status header, or null. */
  statusHeader: string | null;
  onError(err: Error): void;
}

const DROP_ON_304: ReadonlySet<string> = new Set(['content-length', 'accept-ranges', 'content-range']);

export function serveStored(ex: Exchange, w: ResponseWriter, stored: Stored, e: IndexEntry, status: CacheStatus, now: number, opts: ServeOptions): void {
  if (w.destroyed || w.headersSent) {
    if (stored.fd >= 0) closeFile(stored.fd);
    return;
  }
  ex.cacheStatus = status;
  const meta = stored.meta;
  const size = stored.prefix.bodyLength;
  const headers = meta.headers.slice();
  headers.push('Age', String(Math.floor(Math.max(0, now - e.stored) / 1000) + stored.prefix.age));
  if (opts.statusHeader !== null) headers.push(opts.statusHeader, status);
  const req = ex.req;
  const head = req.method === 'HEAD';

  let code = meta.status;
  let pieces: Piece[] = size === 0 ? [] : [{ start: 0, end: size - 1 }];
  let length = size;
  if (meta.status === 200) {
    const pre = evaluateCached(req.headers, meta.etag, meta.lastModified);
    if (pre !== 200) {
      if (pre === 412) return answer(w, stored, 412, ['Content-Length', '0', ...withStatus(opts, status)], []);
      const out: string[] = [];
      for (let i = 0; i < headers.length; i += 2) if (!DROP_ON_304.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
      return answer(w, stored, 304, out, []);
    }
    // Ranges of any stored 200 (nginx only with the upstream's Accept-Ranges or
    // proxy_force_ranges), unless the upstream said "Accept-Ranges: none".
    const accepts = headerValue(headers, 'accept-ranges');
    if (accepts === undefined) headers.push('Accept-Ranges', 'bytes');
    const range = req.method === 'GET' && accepts?.trim().toLowerCase() !== 'none' ? req.headers.range : undefined;
    if (range !== undefined && ifRangeMatches(req.headers, meta.etag, meta.lastModified)) {
      const ranges = parseRange(range, size);
      if (ranges === 'unsatisfiable') {
        return answer(w, stored, 416, ['Content-Range', `bytes */${size}`, 'Content-Length', '0', ...withStatus(opts, status)], []);
      }
      if (ranges !== undefined) {
        code = 206;
        if (ranges.length === 1) {
          const r = ranges[0]!;
          headers.push('Content-Range', `bytes ${r.start}-${r.end}/${size}`);
          pieces = [r];
          length = r.end - r.start + 1;
        } else {
          const boundary = randomBytes(12).toString('hex');
          const type = headerValue(headers, 'content-type') ?? 'application/octet-stream';
          setHeader(headers, 'content-type', 'Content-Type', `multipart/byteranges; boundary=${boundary}`);
          ({ pieces, length } = byteranges(ranges, type, size, boundary));
        }
      }
    }
  }
  headers.push('Content-Length', String(length));
  answer(w, stored, code, headers, head || code === 204 || code === 304 ? [] : pieces, opts);
}

function withStatus(opts: ServeOptions, status: CacheStatus): string[] {
  return opts.statusHeader === null ? [] : [opts.statusHeader, status];
}

function answer(w: ResponseWriter, stored: Stored, code: number, headers: string[], pieces: Piece[], opts?: ServeOptions): void {
  try {
    w.writeHead(code, code === stored.meta.status ? stored.meta.reason : '', headers);
  } catch (err) {
    if (stored.fd >= 0) closeFile(stored.fd);
    opts?.onError(err as Error);
    w.destroy();
    return;
  }
  if (pieces.length === 0) {
    if (stored.fd >= 0) closeFile(stored.fd);
    w.end();
    return;
  }
  if (stored.body !== null) return writePieces(w, stored.body, pieces);
  const at = stored.bodyStart;
  const shifted = pieces.map((p): Piece => (Buffer.isBuffer(p) ? p : ({ start: p.start + at, end: p.end + at } satisfies ByteRange)));
  streamPieces(w, nodeFs, stored.fd, shifted, (err) => opts?.onError(err));
}

function headerValue(headers: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.length === lower.length && headers[i]!.toLowerCase() === lower) return headers[i + 1];
  return undefined;
}

function setHeader(headers: string[], lower: string, name: string, value: string): void {
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i]!.toLowerCase() === lower) {
      headers[i + 1] = value;
      return;
    }
  headers.push(name, value);
}
