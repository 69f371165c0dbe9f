/**
 * Rebuilds a zone's index from its directory when Portico starts (nginx's cache loader), so a
 * restart keeps the cache. It runs in the background while requests are served: directories
 * are listed and entries' heads read a few at a time on libuv's pool, with a turn of the event
 * loop between batches, never a synchronous scan. Meanwhile the zone is "cold" and looks for
 * a key on disk before calling it a miss (zone.ts).
 *
 * What it finds: entries of this format whose size is what their prefix says join the index
 * (the oldest files evicted first when keys_zone or max_size is smaller than the directory);
 * torn ones (a write cut short by a power loss) and temp files older than this start (a crash
 * while writing) are removed; files of another format are left alone.
 */
import { readdir, unlink, stat } from 'node:fs';
import { join } from 'node:path';
import type { CacheZone } from './zone.js';
import { readEntryHead } from './zone.js';
import { keyHash } from './key.js';
import { variantHash } from './vary.js';

const HASH = /^[0-9a-f]{32}$/;
/** Entries read at once (libuv's pool has four threads by default). */
const BATCH = 32;

export interface LoadStats {
  entries: number;
  bytes: number;
  removed: number;
  foreign: number;
}

export async function loadZone(zone: CacheZone, startedAt: number): Promise<LoadStats> {
  const stats: LoadStats = { entries: 0, bytes: 0, removed: 0, foreign: 0 };
  const levels = zone.levels;
  // One read buffer per file in flight, reused: a directory of 100,000 entries makes no garbage of them.
  const scratch = Array.from({ length: BATCH }, () => Buffer.allocUnsafe(4096));
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (zone.closed) return;
    const names = await list(dir);
    if (depth < levels.length) {
      const width = levels[depth]!; // outermost first: "1:2" is c/29/...
      for (const name of names) if (name.length === width && /^[0-9a-f]+$/.test(name)) await walk(join(dir, name), depth + 1);
      return;
    }
    for (let i = 0; i < names.length; i += BATCH) {
      if (zone.closed) return;
      await Promise.all(names.slice(i, i + BATCH).map((name, j) => loadFile(zone, join(dir, name), name, startedAt, stats, scratch[j]!)));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  await walk(zone.dir, 0);
  return stats;
}

async function loadFile(zone: CacheZone, path: string, name: string, startedAt: number, stats: LoadStats, scratch: Buffer): Promise<void> {
  if (name.endsWith('.tmp')) {
    // A temp file of this run belongs to a write in progress; an older one to a crash.
    const mtime = await new Promise<number>((resolve) => stat(path, (err, st) => resolve(err ? Infinity : st.mtimeMs)));
    if (mtime < startedAt && (await remove(path))) stats.removed++;
    return;
  }
  if (!HASH.test(name)) return;
  const head = await readEntryHead(path, scratch).catch(() => undefined);
  if (head === undefined) return; // gone meanwhile (purged, evicted)
  if (head === 'foreign') {
    stats.foreign++;
    return;
  }
  const meta = head === 'torn' ? undefined : head.meta;
  // The file's name must be its key's hash (or its variant's): anything else was not written here.
  const expected = meta === undefined ? undefined : meta.main === undefined ? keyHash(meta.key) : variantHash(meta.main, meta.selected ?? '');
  if (head === 'torn' || expected !== name || zone.purgedWhileCold(head.meta.key, head.prefix.stored)) {
    if (await remove(path)) stats.removed++;
    return;
  }
  zone.adopt(name, head.meta, head.prefix, head.size, Date.now());
  stats.entries++;
  stats.bytes += head.size;
}

/** Removes a file; false when it could not be (gone meanwhile). Awaited: once `loaded` resolves, what the loader removed is gone. */
function remove(path: string): Promise<boolean> {
  return new Promise((resolve) => unlink(path, (err) => resolve(err === null)));
}

function list(dir: string): Promise<string[]> {
  return new Promise((resolve) => readdir(dir, (err, names) => resolve(err ? [] : names.sort())));
}
