/**
 * Purging from outside a request (nginx Plus's purge, here for the admin API): removes the
 * stored responses of a key, or of every key starting with a prefix, in one zone or in all.
 * `server.cache` (PorticoServer) is the running server's CacheZones.
 *
 *   purge(server.cache, { key: 'http://example.com/news/' })       -> entries removed
 *   purge(server.cache, { zone: 'main', prefix: 'http://example.com/news/' })
 *
 * Returns how many entries were removed, or -1 when the named zone is not configured.
 */
import type { CacheZones, PurgeTarget } from './zones.js';

export type { PurgeTarget } from './zones.js';

export function purge(zones: CacheZones, target: PurgeTarget): number {
  return zones.purge(target);
}
