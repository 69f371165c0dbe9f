/**
 * A zone's index of entries in memory (nginx's keys_zone): what a lookup needs to decide HIT,
 * STALE or MISS without touching the disk, and what bounds the disk. One Map in least-recently
 * used order (a use moves an entry to the end), so eviction and the `inactive` sweep take
 * entries from the front and stop at the first that stays.
 *
 * Memory is bounded by `keys_zone` whatever the number of entries on disk: each node is
 * counted as NODE_BYTES plus its key, and when the sum would pass the zone's size the least
 * recently used nodes go, their files with them (nginx: ngx_http_file_cache_forced_expire).
 * max_size bounds the entries' bytes on disk the same way (nginx's cache manager).
 */

/**
 * What one node costs in the index besides its key's characters: its object, its Map slot and
 * its hash string. Measured with node 20 (V8, 64-bit): 356 heap bytes per node with 55-byte
 * keys (bench/cache-index-memory.mjs), so a node is counted as 304 + the key's length, about
 * 2,900 keys per MiB of keys_zone (nginx's nodes are smaller: 8,000 per MiB).
 */
export const NODE_BYTES = 304;

export const enum Kind {
  /** A stored response. */
  Entry,
  /** The Vary names of a key whose responses are stored as variants. */
  Vary,
  /** A key seen but not stored (min_uses counting). */
  Pending,
}

export class IndexEntry {
  /** Unused for this long is removed (ms since the epoch). */
  lastUsed = 0;
  /** Requests seen for this key (min_uses). */
  uses = 0;
  /** An upstream request for this entry is in flight since (ms), 0: none (nginx's `updating`). */
  updating = 0;
  /** Fresh until (ms). */
  expires = 0;
  /** Stored or last revalidated at (ms). */
  stored = 0;
  swr = 0;
  sie = 0;
  flags = 0;
  /** The stored response's status (a revalidation's lifetime from `valid` is by it). */
  status = 0;
  /** The file's bytes. */
  size = 0;
  /** Vary markers: the names; variants: the hash of their key. */
  vary: readonly string[] | null = null;
  main: string | null = null;

  constructor(
    readonly kind: Kind,
    readonly hash: string,
    /** The whole key (purges by prefix read it). */
    readonly key: string,
  ) {}
}

export class CacheIndex {
  readonly #map = new Map<string, IndexEntry>();
  #bytes = 0;
  #disk = 0;

  constructor(
    /** keys_zone, bytes. */
    public capacity: number,
    /** max_size, bytes (Infinity: none). */
    public maxSize: number,
    /** An entry leaves the index: its file goes too (zone.ts). */
    readonly evicted: (e: IndexEntry) => void,
  ) {}

  get size(): number {
    return this.#map.size;
  }

  /** Bytes of the index (nodes and keys), as counted against keys_zone. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes of the stored entries' files. */
  get diskBytes(): number {
    return this.#disk;
  }

  get(hash: string): IndexEntry | undefined {
    return this.#map.get(hash);
  }

  /** A use: the entry becomes the most recently used. */
  touch(e: IndexEntry, now: number): void {
    e.lastUsed = now;
    const map = this.#map;
    map.delete(e.hash);
    map.set(e.hash, e);
  }

  /** Adds or replaces; then makes room, least recently used first (never `e` itself). */
  set(e: IndexEntry, now: number): void {
    const old = this.#map.get(e.hash);
    if (old !== undefined) this.#forget(old);
    e.lastUsed = now;
    this.#map.set(e.hash, e);
    this.#bytes += NODE_BYTES + e.key.length;
    this.#disk += e.size;
    this.#makeRoom(e);
  }

  /** Takes the entry out without evicting it (the caller handles its file). */
  delete(e: IndexEntry): void {
    if (this.#map.get(e.hash) === e) this.#forget(e);
  }

  /** Adjusts the disk bytes of an entry that was rewritten in place. */
  resize(e: IndexEntry, size: number): void {
    if (this.#map.get(e.hash) === e) this.#disk += size - e.size;
    e.size = size;
  }

  /** Removes what was not used since `before` (nginx's inactive); returns how many. */
  sweep(before: number): number {
    let n = 0;
    for (const e of this.#map.values()) {
      if (e.lastUsed >= before) break;
      if (e.updating !== 0) continue;
      this.#evict(e);
      n++;
    }
    return n;
  }

  /** Every node, least recently used first (purges by prefix). */
  values(): IterableIterator<IndexEntry> {
    return this.#map.values();
  }

  /** Applies new limits (a reload), evicting down to them. */
  limit(capacity: number, maxSize: number): void {
    this.capacity = capacity;
    this.maxSize = maxSize;
    this.#makeRoom(undefined);
  }

  #makeRoom(keep: IndexEntry | undefined): void {
    if (this.#bytes <= this.capacity && this.#disk <= this.maxSize) return;
    for (const e of this.#map.values()) {
      if (this.#bytes <= this.capacity && this.#disk <= this.maxSize) return;
      if (e === keep) continue;
      this.#evict(e);
    }
  }

  #evict(e: IndexEntry): void {
    this.#forget(e);
    this.evicted(e);
  }

  #forget(e: IndexEntry): void {
    this.#map.delete(e.hash);
    this.#bytes -= NODE_BYTES + e.key.length;
    this.#disk -= e.size;
  }
}
