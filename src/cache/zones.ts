/**
 * The cache zones of a running Portico, for its whole life: a reload keeps a zone whose
 * directory is unchanged (its index and entries with it) and applies its new limits, starts
 * new ones and stops those no config uses any more (their files stay on disk for the next
 * start). Compiling a config only prepares zones (prepare); the server starts them when the
 * config is the one served (activate). Also where a purge comes in from outside a request
 * (the admin API): purge() by key or by key prefix, in one zone or all.
 */
import { join, resolve } from 'node:path';
import type { CacheZoneConfig } from '../config/cache-schema.js';
import type { ErrorLog } from '../log/error-log.js';
import { parseLevels } from './key.js';
import { CacheZone, type ZoneLimits } from './zone.js';

export interface PreparedZone {
  readonly zone: CacheZone;
  readonly limits: ZoneLimits;
}

/** A config's zones by name. */
export type PreparedZones = ReadonlyMap<string, PreparedZone>;

export const NO_ZONES: PreparedZones = new Map();

export type PurgeTarget = { zone?: string; key: string } | { zone?: string; prefix: string };

export class CacheZones {
  /** Zones in use, by directory. */
  readonly #byDir = new Map<string, CacheZone>();
  /** The served config's zones, by name. */
  #active: PreparedZones = NO_ZONES;

  constructor(readonly log: ErrorLog) {}

  /**
   * A config's zones: `<dataDir>/cache/<name>` unless `path` says otherwise (relative to the
   * data directory). A zone whose directory is in use keeps its object (and index); problems
   * (two zones on one directory, levels changed under a running zone) go to `problems`.
   */
  prepare(configs: Readonly<Record<string, CacheZoneConfig>> | undefined, dataDir: string, file: string, problems: string[]): PreparedZones {
    if (configs === undefined) return NO_ZONES;
    const out = new Map<string, PreparedZone>();
    const dirs = new Map<string, string>();
    for (const [name, cfg] of Object.entries(configs)) {
      const dir = resolve(dataDir, cfg.path ?? join('cache', name));
      const levels = parseLevels(cfg.levels);
      const other = dirs.get(dir);
      if (other !== undefined) {
        problems.push(`${file}: cache.${name}.path: ${dir} is already the directory of zone '${other}' (each zone needs its own, as in nginx)`);
        continue;
      }
      dirs.set(dir, name);
      const limits: ZoneLimits = { keysZone: cfg.keys_zone, maxSize: cfg.max_size ?? Infinity, inactive: cfg.inactive, memory: cfg.memory };
      let zone = this.#byDir.get(dir);
      if (zone !== undefined && zone.levels.join(':') !== levels.join(':')) {
        problems.push(`${file}: cache.${name}.levels: the running zone of ${dir} has levels "${zone.levels.join(':')}"; changing them needs a restart`);
        continue;
      }
      zone ??= new CacheZone(name, dir, levels, limits, this.log);
      out.set(name, { zone, limits });
    }
    return out;
  }

  /** `zones` are served from now on: new ones start, kept ones take their new limits, the rest stop. */
  activate(zones: PreparedZones): void {
    const keep = new Set<CacheZone>();
    for (const { zone, limits } of zones.values()) {
      keep.add(zone);
      if (this.#byDir.get(zone.dir) === zone) zone.configure(limits);
      else {
        this.#byDir.set(zone.dir, zone);
        zone.start();
      }
    }
    for (const [dir, zone] of this.#byDir)
      if (!keep.has(zone)) {
        zone.close();
        this.#byDir.delete(dir);
      }
    this.#active = zones;
  }

  /** A zone of the served config by name. */
  get(name: string): CacheZone | undefined {
    return this.#active.get(name)?.zone;
  }

  /** The served config's zone names. */
  names(): string[] {
    return [...this.#active.keys()];
  }

  /**
   * Removes stored responses by key (every variant of it) or by key prefix, in the named zone
   * or in all; returns how many entries went. Unknown zone: -1.
   */
  purge(target: PurgeTarget): number {
    const zones = target.zone === undefined ? [...this.#active.values()].map((p) => p.zone) : [this.get(target.zone)];
    if (zones.some((z) => z === undefined)) return -1;
    let n = 0;
    for (const zone of zones as CacheZone[]) n += 'key' in target ? zone.purgeKey(target.key) : zone.purgePrefix(target.prefix);
    return n;
  }

  close(): void {
    for (const zone of this.#byDir.values()) zone.close();
    this.#byDir.clear();
    this.#active = NO_ZONES;
  }
}
