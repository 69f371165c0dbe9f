/**
 * Small entries kept whole in memory as well as on disk (the zone's `memory`), so a hit on a
 * popular small response needs no file open, read and close on libuv's pool: nginx gets the
 * same from the kernel's page cache and open_file_cache. Least recently used first out, within
 * a byte budget; an entry larger than a sixteenth of the budget (at most 256 KiB) stays on
 * disk only. Disk stays the truth: an entry leaves here whenever it leaves the index or
 * changes on disk.
 */
import type { EntryMeta, EntryPrefix } from './entry-format.js';

export interface HotEntry {
  readonly prefix: EntryPrefix;
  readonly meta: EntryMeta;
  readonly body: Buffer;
  /** What it is counted as. */
  readonly bytes: number;
}

/** Per entry besides its body and headers (objects, strings' headers). */
const OVERHEAD = 512;

export class HotCache {
  readonly #map = new Map<string, HotEntry>();
  #bytes = 0;

  constructor(public budget: number) {}

  /** Whether an entry of this many bytes (file size) may be held. */
  fits(size: number): boolean {
    return size + OVERHEAD <= Math.min(256 * 1024, this.budget / 16);
  }

  get(hash: string): HotEntry | undefined {
    const hot = this.#map.get(hash);
    if (hot !== undefined) {
      this.#map.delete(hash);
      this.#map.set(hash, hot);
    }
    return hot;
  }

  set(hash: string, prefix: EntryPrefix, meta: EntryMeta, body: Buffer, metaLength: number): void {
    const bytes = OVERHEAD + metaLength + body.length;
    if (bytes > Math.min(256 * 1024, this.budget / 16)) return;
    this.delete(hash);
    this.#map.set(hash, { prefix, meta, body, bytes });
    this.#bytes += bytes;
    for (const [h, e] of this.#map) {
      if (this.#bytes <= this.budget) break;
      this.#map.delete(h);
      this.#bytes -= e.bytes;
    }
  }

  delete(hash: string): void {
    const hot = this.#map.get(hash);
    if (hot === undefined) return;
    this.#map.delete(hash);
    this.#bytes -= hot.bytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  resize(budget: number): void {
    this.budget = budget;
    for (const [h, e] of this.#map) {
      if (this.#bytes <= budget) break;
      this.#map.delete(h);
      this.#bytes -= e.bytes;
    }
  }
}
