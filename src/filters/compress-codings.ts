/**
 * The encoders of on-the-fly compression, from node:zlib: gzip and brotli always, zstd when the
 * running node has it (zlib.createZstdCompress, node >= 22.15 / 23.8), found once at start.
 * Each is zlib's streaming Transform: the work runs on libuv's threadpool, never on the event
 * loop, and a response's memory is bounded by the settings below.
 *
 * Memory per compressing response (the compressor's state; measured in docs/configuration.md):
 *  - gzip: zlib's deflate needs 2^(windowBits+2) + 2^(memLevel+9) bytes: 256 KiB at the
 *    defaults (15, 8). With a known length, the window and hash shrink to fit the body as
 *    nginx does (ngx_http_gzip_filter_memory), so a 2 KiB page costs about 10 KiB.
 *  - brotli: the window (lgwin) is at most 2^18 = 256 KiB instead of brotli's 4 MiB default,
 *    and the length is given as a size hint; the quality's hash tables come on top.
 *  - zstd: the window is at most 2^19 = 512 KiB (zstd's level 3 would take 2 MiB on a large
 *    body).
 * zlib hands out output in chunks of CHUNK bytes.
 */
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import type { ContentCoding } from '../http/accept-encoding.js';

export type { ContentCoding } from '../http/accept-encoding.js';

type ZstdFactory = (options: { chunkSize?: number; writableHighWaterMark?: number; flush?: number; params?: Record<number, number> }) => Transform;

const zstdFactory = (zlib as unknown as { createZstdCompress?: ZstdFactory }).createZstdCompress;
const C = zlib.constants as typeof zlib.constants & Partial<Record<'ZSTD_c_compressionLevel' | 'ZSTD_c_windowLog' | 'ZSTD_e_flush', number>>;

/** The codings this node can compress with, in Portico's default order of preference. */
export const AVAILABLE_CODINGS: readonly ContentCoding[] = zstdFactory !== undefined && C.ZSTD_c_compressionLevel !== undefined ? ['zstd', 'br', 'gzip'] : ['br', 'gzip'];

/** Why a coding is missing (for `portico check`), or undefined when it is there. */
export function missingCodingReason(coding: ContentCoding): string | undefined {
  if (AVAILABLE_CODINGS.includes(coding)) return undefined;
  return `needs node >= 22.15 (this is ${process.version})`;
}

/** Output chunk size: zlib's default; a 100 KiB JSON body at level 1 is two chunks. */
const CHUNK = 16 * 1024;

/**
 * Input an encoder may hold before its write() answers false (its writable high-water mark):
 * bytes waiting for the threadpool are work in progress, so a 100 KiB page goes in at once.
 */
export const COMPRESS_AHEAD = 128 * 1024;

const BROTLI_MAX_LGWIN = 18;
const ZSTD_MAX_WINDOW_LOG = 19;

/** zlib's options reach its Transform's constructor (lib/zlib.js), high-water marks included; @types/node does not say so. */
type StreamOptions = { writableHighWaterMark: number };

/** ceil(log2(n)) for n >= 1. */
function log2ceil(n: number): number {
  return n <= 1 ? 0 : 32 - Math.clz32(n - 1);
}

/**
 * A compressing stream for one response. `length`: the body's length when known, else -1.
 * `flushEachWrite`: every write is flushed to the client as a whole (server-sent events,
 * X-Accel-Buffering: no): zlib's Z_SYNC_FLUSH, brotli's BROTLI_OPERATION_FLUSH, zstd's
 * ZSTD_e_flush, each at the cost of a few bytes per write.
 */
export function createEncoder(coding: ContentCoding, level: number, length: number, flushEachWrite: boolean): Transform {
  switch (coding) {
    case 'gzip': {
      let windowBits = 15;
      let memLevel = 8;
      if (length > 0) {
        // nginx's rule: zlib's real window is 262 bytes short of 2^windowBits.
        while (windowBits > 9 && length < (1 << (windowBits - 1)) - 262) {
          windowBits--;
          memLevel--;
        }
        if (memLevel < 1) memLevel = 1;
      }
      const options: zlib.ZlibOptions & StreamOptions = {
        level,
        windowBits,
        memLevel,
        chunkSize: CHUNK,
        writableHighWaterMark: COMPRESS_AHEAD,
        flush: flushEachWrite ? C.Z_SYNC_FLUSH : C.Z_NO_FLUSH,
      };
      return zlib.createGzip(options);
    }
    case 'br': {
      const lgwin = length > 0 ? Math.max(10, Math.min(BROTLI_MAX_LGWIN, log2ceil(length))) : BROTLI_MAX_LGWIN;
      const params: Record<number, number> = { [C.BROTLI_PARAM_QUALITY]: level, [C.BROTLI_PARAM_LGWIN]: lgwin };
      if (length > 0) params[C.BROTLI_PARAM_SIZE_HINT] = length;
      const options: zlib.BrotliOptions & StreamOptions = {
        chunkSize: CHUNK,
        writableHighWaterMark: COMPRESS_AHEAD,
        params,
        flush: flushEachWrite ? C.BROTLI_OPERATION_FLUSH : C.BROTLI_OPERATION_PROCESS,
      };
      return zlib.createBrotliCompress(options);
    }
    case 'zstd': {
      const windowLog = length > 0 ? Math.max(10, Math.min(ZSTD_MAX_WINDOW_LOG, log2ceil(length))) : ZSTD_MAX_WINDOW_LOG;
      const params: Record<number, number> = { [C.ZSTD_c_compressionLevel!]: level, [C.ZSTD_c_windowLog!]: windowLog };
      const options: Parameters<ZstdFactory>[0] = { chunkSize: CHUNK, writableHighWaterMark: COMPRESS_AHEAD, params };
      if (flushEachWrite && C.ZSTD_e_flush !== undefined) options.flush = C.ZSTD_e_flush;
      return zstdFactory!(options);
    }
  }
}
