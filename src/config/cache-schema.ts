/**
 * The response cache's config (issue 15), named after nginx's proxy_cache directives
 * (https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_cache) so the nginx adapter
 * maps them one to one:
 *   proxy_cache_path PATH levels= keys_zone= max_size= inactive=   a zone under the top-level `cache`
 *   proxy_cache ZONE                                              a route's `cache` (or `cache.zone`)
 *   proxy_cache_key, _valid, _use_stale, _background_update, _lock, _lock_timeout, _lock_age,
 *   _bypass, proxy_no_cache, _min_uses, _methods, _revalidate, _convert_head,
 *   proxy_ignore_headers                                          the route's `cache` keys of the same names
 */
import { z } from 'zod';
import { duration, optionalSize, size } from './zod-units.js';
import { isCidrList } from '../http/cidr.js';

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name');

/** nginx's `levels`: one to three levels of 1 or 2 hex digits each, "" for none. */
export const LEVELS = /^(?:[12](?::[12]){0,2})?$/;

export const cacheZone = z
  .object({
    path: z
      .string()
      .min(1)
      .optional()
      .describe('Directory of the entries; relative to the data directory (data_dir); default <data_dir>/cache/<zone name>'),
    levels: z
      .string()
      .regex(LEVELS, 'expected 1 to 3 levels of 1 or 2 such as "1:2", or "" for none')
      .default('1:2')
      .describe('Subdirectory levels taken from the end of the key\'s MD5, as nginx (c/29/b7f5...29c for "1:2"); "" keeps every file in the directory itself'),
    keys_zone: size('10MiB').describe(
      'Memory for the index of entries (keys and their metadata, nginx keys_zone): about 2,900 keys of 50 bytes per MiB; when full the least recently used entries go',
    ),
    max_size: optionalSize().describe('Most bytes of entries on disk; beyond it the least recently used go (nginx max_size); default: no limit'),
    inactive: duration('10m').describe('An entry not used for this long is removed, fresh or not (nginx inactive)'),
    memory: size('16MiB').describe(
      'Bodies and heads of small recently used entries kept in memory as well, so hits need no disk read; 0: none (nginx relies on the page cache)',
    ),
  })
  .strict();

/** nginx's proxy_cache_use_stale values (besides `off`, which is an empty list). */
export const STALE_CONDITIONS = ['error', 'timeout', 'invalid_header', 'updating', 'http_500', 'http_502', 'http_503', 'http_504', 'http_403', 'http_404', 'http_429'] as const;
/** nginx's proxy_ignore_headers values that concern the cache. */
export const IGNORABLE = ['x-accel-expires', 'expires', 'cache-control', 'set-cookie', 'vary'] as const;

const STATUS_LIST = /^(?:any|[1-5]\d\d(?:\s+[1-5]\d\d)*)$/;

/**
 * `valid` (nginx proxy_cache_valid): how long responses are fresh when the upstream says
 * nothing (no Cache-Control max-age, Expires or X-Accel-Expires), by status; "any" for every
 * other status. A listed status wins over "any".
 */
const validTable = z
  .record(z.string().regex(STATUS_LIST, 'expected status codes separated by spaces ("200 302") or "any"'), duration('0s'))
  .transform((record) => {
    const byStatus = new Map<number, number>();
    let any: number | undefined;
    for (const [codes, ms] of Object.entries(record)) {
      if (codes === 'any') any = ms;
      else for (const c of codes.split(/\s+/)) if (!byStatus.has(Number(c))) byStatus.set(Number(c), ms);
    }
    return { byStatus, any };
  });

const methodName = z.string().regex(/^[A-Z]+$/, 'expected a method name in capitals such as GET');

export const routeCacheObject = z
  .object({
    zone: z.string().min(1).describe('The zone (a name under the top-level `cache`)'),
    key: z
      .string()
      .min(1)
      .optional()
      .describe(
        'What identifies a stored response, a template (nginx proxy_cache_key): default "{scheme}://{host}{uri}"; {proxy_host} is the route\'s upstream as written in proxy.to',
      ),
    valid: validTable.optional(),
    use_stale: z
      .array(z.enum(STALE_CONDITIONS))
      .default([])
      .describe('When a stale entry is served instead (nginx proxy_cache_use_stale): error, timeout, invalid_header, updating, http_500, http_502, http_503, http_504, http_403, http_404, http_429'),
    background_update: z.boolean().default(false).describe('A stale entry is served while it is updated in the background (needs use_stale updating, or stale-while-revalidate from the upstream)'),
    lock: z
      .union([
        z.boolean(),
        z
          .object({
            timeout: duration('5s').describe('How long a request waits for the one filling the entry; then it goes to the upstream and its response is not stored'),
            age: duration('5s').describe('A fill that has taken this long lets one more request go to the upstream'),
          })
          .strict(),
      ])
      .default(false)
      .transform((l) => (l === false ? null : l === true ? { timeout: 5000, age: 5000 } : l))
      .describe('Collapsed forwarding (nginx proxy_cache_lock): one request fills a missing entry, the others for the same key wait for it'),
    bypass: z.array(z.string()).default([]).describe('Templates; when one is neither empty nor "0" the request is not answered from the cache (nginx proxy_cache_bypass)'),
    no_cache: z.array(z.string()).default([]).describe('Templates; when one is neither empty nor "0" the response is not stored (nginx proxy_no_cache)'),
    min_uses: z.number().int().min(1).default(1).describe('Requests for a key before its response is stored (nginx proxy_cache_min_uses)'),
    methods: z
      .array(methodName)
      .default(['GET', 'HEAD'])
      .transform((m) => [...new Set(['GET', 'HEAD', ...m])])
      .describe('Methods whose responses are cached; GET and HEAD always are (nginx proxy_cache_methods)'),
    revalidate: z.boolean().default(false).describe('An expired entry with ETag or Last-Modified is revalidated with a conditional request (nginx proxy_cache_revalidate)'),
    convert_head: z.boolean().default(true).describe('A HEAD that misses is sent upstream as GET, so its response can serve GETs too (nginx proxy_cache_convert_head); false: HEAD passes uncached'),
    ignore_headers: z
      .array(z.string().transform((s) => s.toLowerCase()).pipe(z.enum(IGNORABLE)))
      .default([])
      .describe('Response headers that do not decide caching (nginx proxy_ignore_headers): X-Accel-Expires, Expires, Cache-Control, Set-Cookie, Vary'),
    status_header: z
      .union([z.literal(false), headerName])
      .default(false)
      .describe('A response header naming the cache status (HIT, MISS, EXPIRED, STALE, UPDATING, REVALIDATED, BYPASS), e.g. X-Cache-Status'),
    purge: z
      .object({
        allow: z
          .array(z.string())
          .min(1)
          .superRefine((list, ctx) => {
            const bad = isCidrList(list);
            if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `expected CIDRs or IP addresses, got '${bad}'` });
          })
          .describe('Addresses a PURGE may come from; others get 403'),
      })
      .strict()
      .optional()
      .describe('The PURGE method removes the entry of its key; a key ending in "*" removes every entry whose key starts with the rest'),
  })
  .strict();

/** A route's `cache`: a zone name, or the zone and its settings. */
export const routeCache = z
  .union([z.string().min(1), routeCacheObject])
  .transform((c) => (typeof c === 'string' ? routeCacheObject.parse({ zone: c }) : c))
  .describe('Cache the route\'s proxied responses in a zone of the top-level `cache` (nginx proxy_cache)');

export type CacheZoneConfig = z.output<typeof cacheZone>;
export type RouteCacheConfig = z.output<typeof routeCacheObject>;
export type StaleCondition = (typeof STALE_CONDITIONS)[number];
