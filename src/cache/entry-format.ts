/**
 * One cache entry on disk: a fixed 64-byte prefix, the response's metadata as JSON, then the
 * body as the client got it.
 *
 *   0  magic "PCACHE1\n"          32  f64 body length (-1 while being written)
 *   8  f64 stored at (ms)         40  u32 metadata length
 *  16  f64 fresh until (ms)       44  u32 flags (1 must-revalidate, 2 may serve Authorization)
 *  24  u32 stale-while-revalidate 48  u32 Age when stored (s)
 *  28  u32 stale-if-error (s)     52  reserved
 *
 * Times sit at fixed places so a revalidation rewrites them in place, as nginx's
 * ngx_http_file_cache_update_header does. An entry is written to a temp file and renamed
 * once complete (entry-writer.ts): a file under its final name always has its whole body.
 */

export const PREFIX = 64;
const MAGIC = Buffer.from('PCACHE1\n', 'latin1');
export const TIMES_OFFSET = 8;
export const TIMES_LENGTH = 24;
export const BODY_LENGTH_OFFSET = 32;

export const MUST_REVALIDATE = 1;
export const AUTH_OK = 2;

export interface EntryTimes {
  /** When the response was stored or last revalidated (ms since the epoch): Age counts from here. */
  stored: number;
  expires: number;
  swr: number;
  sie: number;
}

export interface EntryPrefix extends EntryTimes {
  bodyLength: number;
  metaLength: number;
  flags: number;
  /** The Age the response had when stored, seconds. */
  age: number;
}

export interface EntryMeta {
  /** The whole key: compared on every use, so two keys with one hash never mix. */
  key: string;
  /** The key's hash when this entry is one variant of it (Vary); absent otherwise. */
  main?: string;
  /** The Vary names this variant was selected by, and the request's values of them (vary.ts). */
  vary?: string[];
  selected?: string;
  status: number;
  reason: string;
  /** Flat [name, value, ...] as the client got them. */
  headers: string[];
  etag?: string;
  lastModified?: string;
}

export function encodePrefix(p: EntryPrefix): Buffer {
  const buf = Buffer.alloc(PREFIX);
  MAGIC.copy(buf, 0);
  writeTimes(buf, 8, p);
  buf.writeDoubleLE(p.bodyLength, 32);
  buf.writeUInt32LE(p.metaLength, 40);
  buf.writeUInt32LE(p.flags, 44);
  buf.writeUInt32LE(Math.min(p.age, 0xffffffff), 48);
  return buf;
}

export function encodeTimes(t: EntryTimes): Buffer {
  const buf = Buffer.alloc(TIMES_LENGTH);
  writeTimes(buf, 0, t);
  return buf;
}

function writeTimes(buf: Buffer, at: number, t: EntryTimes): void {
  buf.writeDoubleLE(t.stored, at);
  buf.writeDoubleLE(t.expires, at + 8);
  buf.writeUInt32LE(Math.min(t.swr, 0xffffffff), at + 16);
  buf.writeUInt32LE(Math.min(t.sie, 0xffffffff), at + 20);
}

export function encodeBodyLength(length: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeDoubleLE(length, 0);
  return buf;
}

/** undefined: not an entry of this format (another program's file, or a torn one). */
export function decodePrefix(buf: Buffer): EntryPrefix | undefined {
  if (buf.length < PREFIX || !buf.subarray(0, 8).equals(MAGIC)) return undefined;
  const p: EntryPrefix = {
    stored: buf.readDoubleLE(8),
    expires: buf.readDoubleLE(16),
    swr: buf.readUInt32LE(24),
    sie: buf.readUInt32LE(28),
    bodyLength: buf.readDoubleLE(32),
    metaLength: buf.readUInt32LE(40),
    flags: buf.readUInt32LE(44),
    age: buf.readUInt32LE(48),
  };
  if (!Number.isInteger(p.bodyLength) || p.bodyLength < 0 || !Number.isFinite(p.stored) || !Number.isFinite(p.expires)) return undefined;
  return p;
}

export function encodeMeta(meta: EntryMeta): Buffer {
  return Buffer.from(JSON.stringify(meta), 'utf8');
}

export function decodeMeta(buf: Buffer): EntryMeta | undefined {
  let m: unknown;
  try {
    m = JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const meta = m as Partial<EntryMeta>;
  if (typeof meta.key !== 'string' || typeof meta.status !== 'number' || typeof meta.reason !== 'string' || !Array.isArray(meta.headers)) return undefined;
  if (meta.headers.length % 2 !== 0 || !meta.headers.every((h) => typeof h === 'string')) return undefined;
  if (meta.main !== undefined && typeof meta.main !== 'string') return undefined;
  if (meta.vary !== undefined && (!Array.isArray(meta.vary) || !meta.vary.every((v) => typeof v === 'string'))) return undefined;
  if (meta.selected !== undefined && typeof meta.selected !== 'string') return undefined;
  return meta as EntryMeta;
}
