/**
 * One cache zone (nginx's proxy_cache_path): a directory of entries, their index in memory
 * (cache-index.ts), small entries also in memory (hot.ts), the fills in progress (lock.ts), the
 * loader that rebuilds the index from disk at start (loader.ts) and the sweep that removes
 * entries unused for `inactive`. Nothing here blocks the event loop: every file operation goes
 * through libuv's pool, and while the loader runs (the zone is "cold") a key missing from the
 * index is looked for on disk before it counts as a miss, as nginx does.
 *
 * A zone is inert until start(): compiling a config (`portico check`) creates no directory.
 */
import { close, fstat, mkdir, open, read, unlink, write } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ErrorLog } from '../log/error-log.js';
import { CacheIndex, IndexEntry, Kind } from './cache-index.js';
import { HotCache } from './hot.js';
import { FillLocks } from './lock.js';
import { EntryWriter } from './entry-writer.js';
import { decodeMeta, decodePrefix, encodeTimes, PREFIX, TIMES_OFFSET, type EntryMeta, type EntryPrefix, type EntryTimes } from './entry-format.js';
import { entryPath, keyHash } from './key.js';
import { variantHash } from './vary.js';
import { loadZone } from './loader.js';

export interface ZoneLimits {
  /** keys_zone, bytes. */
  keysZone: number;
  /** max_size, bytes; Infinity: none. */
  maxSize: number;
  /** ms. */
  inactive: number;
  /** The hot tier's budget, bytes. */
  memory: number;
}

/** An entry opened for serving: its head, and its body in memory or on an open descriptor. */
export interface Stored {
  readonly meta: EntryMeta;
  readonly prefix: EntryPrefix;
  /** Offset of the body in the file. */
  readonly bodyStart: number;
  /** The whole body, or null: read it from `fd` (the caller closes it). */
  readonly body: Buffer | null;
  readonly fd: number;
}

/** Files up to this size are read in one go (and may be kept in the hot tier). */
const WHOLE = 64 * 1024;
/** The first read of a larger file: prefix and metadata, usually. */
const HEAD_READ = 16 * 1024;

export class CacheZone {
  readonly index: CacheIndex;
  readonly hot: HotCache;
  readonly locks = new FillLocks();
  readonly #dirs = new Set<string>();
  #cold = true;
  #started = false;
  #closed = false;
  #sweeper: NodeJS.Timeout | undefined;
  /** Purges made while the loader runs: it must not bring their entries back. */
  #purgedWhileCold: { key?: string; prefix?: string; at: number }[] = [];
  /** Resolves when the loader is done (tests, measurements). */
  loaded: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly levels: readonly number[],
    public limits: ZoneLimits,
    readonly log: ErrorLog,
  ) {
    this.index = new CacheIndex(limits.keysZone, limits.maxSize, (e) => this.#dropFile(e));
    this.hot = new HotCache(limits.memory);
  }

  get cold(): boolean {
    return this.#cold;
  }

  /** Creates the directory, then rebuilds the index from it in the background. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const startedAt = Date.now();
    this.loaded = new Promise<void>((resolve) => {
      mkdir(this.dir, { recursive: true, mode: 0o700 }, (err) => {
        if (err) {
          this.log.error('cannot create cache directory', { zone: this.name, dir: this.dir, err: err.message });
          this.#cold = false;
          return resolve();
        }
        loadZone(this, startedAt).then(
          (stats) => {
            this.#cold = false;
            this.#purgedWhileCold = [];
            const index = this.index;
            this.log.info('cache loaded', { zone: this.name, files: stats.entries, entries: index.size, bytes: index.diskBytes, index_bytes: index.bytes, removed: stats.removed, ms: Date.now() - startedAt });
            resolve();
          },
          (e: Error) => {
            this.#cold = false;
            this.log.error('cache load failed', { zone: this.name, err: e.message });
            resolve();
          },
        );
      });
    });
    const every = Math.max(1000, Math.min(this.limits.inactive, 10_000));
    this.#sweeper = setInterval(() => this.index.sweep(Date.now() - this.limits.inactive), every);
    this.#sweeper.unref();
  }

  configure(limits: ZoneLimits): void {
    this.limits = limits;
    this.index.limit(limits.keysZone, limits.maxSize);
    this.hot.resize(limits.memory);
  }

  close(): void {
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
  }

  get closed(): boolean {
    return this.#closed;
  }

  path(hash: string): string {
    return entryPath(this.dir, this.levels, hash);
  }

  /**
   * The index's node for `hash`; while the zone is cold, a stored entry not loaded yet is read
   * from disk first (a promise then).
   */
  find(hash: string): IndexEntry | undefined | Promise<IndexEntry | undefined> {
    const e = this.index.get(hash);
    if (e !== undefined || !this.#cold) return e;
    return this.#probe(hash);
  }

  async #probe(hash: string): Promise<IndexEntry | undefined> {
    const loaded = await readEntryHead(this.path(hash)).catch(() => undefined);
    const known = this.index.get(hash);
    if (known !== undefined || loaded === undefined || typeof loaded === 'string') return known;
    if (loaded.meta.main !== undefined || keyHash(loaded.meta.key) !== hash || this.purgedWhileCold(loaded.meta.key, loaded.prefix.stored)) return undefined;
    return this.adopt(hash, loaded.meta, loaded.prefix, loaded.size, Date.now());
  }

  /** A stored entry found on disk (loader, cold probe) joins the index, unless one is there already. */
  adopt(hash: string, meta: EntryMeta, prefix: EntryPrefix, size: number, now: number): IndexEntry {
    const known = this.index.get(hash);
    if (known !== undefined) return known;
    const e = new IndexEntry(Kind.Entry, hash, meta.key);
    setTimes(e, prefix);
    e.flags = prefix.flags;
    e.status = meta.status;
    e.size = size;
    if (meta.main !== undefined) {
      e.main = meta.main;
      const marker = this.index.get(meta.main);
      if (marker === undefined) {
        const m = new IndexEntry(Kind.Vary, meta.main, meta.key);
        m.vary = meta.vary ?? [];
        this.index.set(m, now);
      }
    }
    this.index.set(e, now);
    return e;
  }

  purgedWhileCold(key: string, stored: number): boolean {
    return this.#purgedWhileCold.some((p) => p.at >= stored && (p.key === key || (p.prefix !== undefined && key.startsWith(p.prefix))));
  }

  /** Opens an entry for serving; undefined when its file is gone or is not this key's. */
  open(e: IndexEntry, key: string): Stored | Promise<Stored | undefined> {
    const hot = this.hot.get(e.hash);
    if (hot !== undefined && hot.meta.key === key) return { meta: hot.meta, prefix: hot.prefix, bodyStart: 0, body: hot.body, fd: -1 };
    return this.#read(e, key);
  }

  async #read(e: IndexEntry, key: string): Promise<Stored | undefined> {
    const fd = await openFile(this.path(e.hash)).catch(() => -1);
    if (fd < 0) {
      this.remove(e); // the file went away (removed by hand, or a failed disk)
      return undefined;
    }
    try {
      const whole = e.size > 0 && e.size <= WHOLE;
      let buf = await readAt(fd, whole ? e.size : HEAD_READ, 0);
      const prefix = decodePrefix(buf);
      if (prefix === undefined) throw new Error('not an entry');
      const bodyStart = PREFIX + prefix.metaLength;
      if (buf.length < bodyStart) buf = await readAt(fd, bodyStart, 0);
      const meta = decodeMeta(buf.subarray(PREFIX, bodyStart));
      if (meta === undefined) throw new Error('unreadable metadata');
      if (meta.key !== key) {
        closeFile(fd);
        return undefined; // another key with the same hash: never served for this one
      }
      if (buf.length >= bodyStart + prefix.bodyLength) {
        closeFile(fd);
        const body = buf.subarray(bodyStart, bodyStart + prefix.bodyLength);
        if (this.hot.fits(e.size)) this.hot.set(e.hash, prefix, meta, body, prefix.metaLength);
        return { meta, prefix, bodyStart: 0, body, fd: -1 };
      }
      return { meta, prefix, bodyStart, body: null, fd };
    } catch (err) {
      closeFile(fd);
      this.log.error('cache entry unreadable; removed', { zone: this.name, key, err: (err as Error).message });
      this.remove(e);
      return undefined;
    }
  }

  /** A writer for the entry `hash` (a temp file beside it); `commit` once it is complete. */
  writer(hash: string, head: Buffer): EntryWriter {
    const path = this.path(hash);
    const dir = dirname(path);
    const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    const maxBody = Number.isFinite(this.limits.maxSize) ? this.limits.maxSize : Number.MAX_SAFE_INTEGER;
    return new EntryWriter(tmp, path, head, maxBody, () => this.#ensureDir(dir), (err) =>
      this.log.error('cannot store cache entry', { zone: this.name, path, err: err.message }),
    );
  }

  /** A complete entry is under its final name: it joins the index (and the hot tier when small). */
  commit(hash: string, meta: EntryMeta, prefix: EntryPrefix, size: number, body: Buffer | null): IndexEntry {
    const now = Date.now();
    const e = new IndexEntry(Kind.Entry, hash, meta.key);
    setTimes(e, prefix);
    e.flags = prefix.flags;
    e.status = meta.status;
    e.size = size;
    if (meta.main !== undefined) {
      e.main = meta.main;
      const marker = this.index.get(meta.main);
      if (marker === undefined || marker.kind !== Kind.Vary || !sameNames(marker.vary, meta.vary)) {
        if (marker !== undefined && marker.kind === Kind.Entry) this.remove(marker); // its plain response is replaced by variants
        const m = new IndexEntry(Kind.Vary, meta.main, meta.key);
        m.vary = meta.vary ?? [];
        this.index.set(m, now);
      } else this.index.touch(marker, now);
    }
    this.hot.delete(hash);
    this.index.set(e, now);
    if (body !== null && this.hot.fits(size)) this.hot.set(hash, prefix, meta, body, prefix.metaLength);
    return e;
  }

  /** A revalidated entry is fresh again: its times change in the index and, in place, on disk. */
  revalidated(e: IndexEntry, times: EntryTimes): void {
    setTimes(e, times);
    const path = this.path(e.hash);
    open(path, 'r+', (err, fd) => {
      if (err) return;
      write(fd, encodeTimes(times), 0, 24, TIMES_OFFSET, () => closeFile(fd));
    });
  }

  /** Takes an entry out of the index (and memory), leaving the disk alone: its file was never written. */
  forget(e: IndexEntry): void {
    if (this.index.get(e.hash) !== e) return;
    this.index.delete(e);
    this.hot.delete(e.hash);
  }

  /**
   * The file of an entry that joined the index before its rename (its body was in memory) is
   * now under its name: if the entry left the index meanwhile (evicted, purged, inactive), its
   * unlink came before the rename, so the file goes now rather than stay on disk uncounted.
   */
  fileCommitted(e: IndexEntry): void {
    if (this.index.get(e.hash) === undefined) this.#dropFile(e);
  }

  /** Takes an entry out of the index and its file off the disk. */
  remove(e: IndexEntry): void {
    if (this.index.get(e.hash) === e) {
      this.index.delete(e);
      this.#dropFile(e);
    }
  }

  /** Removes the entry of `key` (every variant of it); resolves with how many were removed. */
  purgeKey(key: string): number {
    const hash = keyHash(key);
    if (this.#cold) this.#purgedWhileCold.push({ key, at: Date.now() });
    const e = this.index.get(hash);
    let n = 0;
    if (e !== undefined && e.kind === Kind.Vary) {
      for (const v of [...this.index.values()]) if (v.main === hash && v.key === key) n += this.#purge(v);
      this.remove(e);
    } else if (e !== undefined && e.kind === Kind.Entry && e.key === key) n += this.#purge(e);
    // Not in the index (yet): its file may still be on disk.
    if (n === 0 && this.#cold) unlink(this.path(hash), () => {});
    return n;
  }

  /** Removes every entry whose key starts with `prefix`. */
  purgePrefix(prefix: string): number {
    if (this.#cold) this.#purgedWhileCold.push({ prefix, at: Date.now() });
    let n = 0;
    for (const e of [...this.index.values()]) {
      if (!e.key.startsWith(prefix)) continue;
      if (e.kind === Kind.Entry) n += this.#purge(e);
      else this.remove(e);
    }
    return n;
  }

  #purge(e: IndexEntry): number {
    this.remove(e);
    return 1;
  }

  /** The variant hash of `main` for a request's selecting values. */
  variant(main: string, selected: string): string {
    return variantHash(main, selected);
  }

  #dropFile(e: IndexEntry): void {
    this.hot.delete(e.hash);
    if (e.kind === Kind.Entry) unlink(this.path(e.hash), () => {});
  }

  #ensureDir(dir: string): Promise<void> {
    if (this.#dirs.has(dir)) return Promise.resolve();
    return new Promise((resolve, reject) =>
      mkdir(dir, { recursive: true, mode: 0o700 }, (err) => {
        if (err) return reject(err);
        this.#dirs.add(dir);
        resolve();
      }),
    );
  }

  /** The level directories under the zone's directory, for the loader. */
  get root(): string {
    return this.dir;
  }

  /** Where a directory of the tree is (loader). */
  join(...parts: string[]): string {
    return join(this.dir, ...parts);
  }
}

function setTimes(e: IndexEntry, t: EntryTimes): void {
  e.stored = t.stored;
  e.expires = t.expires;
  e.swr = t.swr;
  e.sie = t.sie;
}

function sameNames(a: readonly string[] | null, b: readonly string[] | undefined): boolean {
  if (a === null || b === undefined || a.length !== b.length) return false;
  return a.every((n, i) => n === b[i]);
}

export function openFile(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function closeFile(fd: number): void {
  close(fd, () => {});
}

/** Up to `length` bytes from the start of the file into `buf` (the loader reuses its buffers). */
function readInto(fd: number, buf: Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => read(fd, buf, 0, length, 0, (err, bytes) => (err ? reject(err) : resolve(buf.subarray(0, bytes)))));
}

/** Up to `length` bytes at `position` (fewer at the end of the file). */
export function readAt(fd: number, length: number, position: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.allocUnsafe(length);
    read(fd, buf, 0, length, position, (err, bytes) => (err ? reject(err) : resolve(bytes === length ? buf : buf.subarray(0, bytes))));
  });
}

export interface EntryHead {
  prefix: EntryPrefix;
  meta: EntryMeta;
  size: number;
}

/**
 * An entry's prefix and metadata; 'foreign' for a file of another format (left alone),
 * 'torn' for one of this format whose size is not what its prefix says (a write cut short by
 * a power loss: removed).
 */
export async function readEntryHead(path: string, scratch?: Buffer): Promise<EntryHead | 'foreign' | 'torn'> {
  const fd = await openFile(path);
  try {
    const size = await new Promise<number>((resolve, reject) => fstat(fd, (err, st) => (err ? reject(err) : resolve(st.size))));
    let buf = scratch === undefined ? await readAt(fd, Math.min(4096, size), 0) : await readInto(fd, scratch, Math.min(scratch.length, size));
    if (buf.length < 8 || buf.toString('latin1', 0, 7) !== 'PCACHE1') return 'foreign';
    const prefix = decodePrefix(buf);
    if (prefix === undefined) return 'torn';
    const bodyStart = PREFIX + prefix.metaLength;
    if (size !== bodyStart + prefix.bodyLength) return 'torn';
    if (buf.length < bodyStart) buf = await readAt(fd, bodyStart, 0);
    const meta = decodeMeta(buf.subarray(PREFIX, bodyStart));
    if (meta === undefined) return 'torn';
    return { prefix, meta, size };
  } finally {
    closeFile(fd);
  }
}
