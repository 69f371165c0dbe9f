/**
 * Upstream pools: several servers behind one name (nginx `upstream {}`), with a selection
 * policy, passive and active health, retries, a wait queue for `max_conns` and TLS settings.
 * A pool is written the same way under the top-level `upstreams:` (shared, referenced by
 * name from `proxy.to`) or inline as `proxy.to` itself; a plain address or list of addresses
 * in `proxy.to` is a pool with every default.
 */
import { z } from 'zod';
import { parseUpstream } from './address.js';
import { duration } from './duration-schema.js';
import { isDuration, parseDuration } from './duration.js';
import { parseHashKey } from './hash-key.js';

/** Names of `upstreams:` entries; they contain no ":" or "/", so they never read as an address. */
export const UPSTREAM_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function addressProblem(v: string): string | undefined {
  if (parseUpstream(v)) return undefined;
  if (v.startsWith('unix')) return `expected unix:/absolute/path.sock, got '${v}'`;
  if (v.startsWith('https://')) return `expected https://host or https://host:port, got '${v}'`;
  return `expected host:port, got '${v}'`;
}

const address = z.string().superRefine((v, ctx) => {
  const problem = addressProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const server = z.union([
  address,
  z
    .object({
      address,
      weight: z.number().int().min(1).max(10_000).default(1).describe('Share of requests relative to the other servers (nginx weight)'),
      max_conns: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe('Most requests in flight on this server; beyond it requests go elsewhere or wait in the queue. 0: no limit'),
      backup: z.boolean().default(false).describe('Used only while no other server is available (nginx backup)'),
      down: z.boolean().default(false).describe('Never used; kept in the list so hashes stay put (nginx down)'),
    })
    .strict(),
]);

/** Upstream outcomes in nginx's proxy_next_upstream vocabulary (src/upstream/conditions.ts). */
const condition = z.string().regex(/^(error|timeout|http_5xx|http_(5\d\d|429))$/, 'expected error, timeout, http_5xx or http_NNN (500-599, 429)');
/** retry.on also takes nginx's non_idempotent: POST, PATCH and the like may go again once sent. */
const retryCondition = z
  .string()
  .regex(/^(error|timeout|non_idempotent|http_5xx|http_(5\d\d|429))$/, 'expected error, timeout, non_idempotent, http_5xx or http_NNN (500-599, 429)');

export const SIMPLE_POLICIES = ['round_robin', 'least_conn', 'random', 'random_two', 'ip_hash', 'first'] as const;
const POLICIES = [...SIMPLE_POLICIES, 'hash', 'cookie'] as const;

const policyObject = z
  .object({
    name: z.enum(POLICIES),
    key: z.string().optional().describe('hash: "uri", "header:<Name>" or "cookie:<name>"'),
    fallback: z.enum(SIMPLE_POLICIES).optional().describe('hash: for requests without the key; cookie: for clients without a (valid) cookie'),
    cookie: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected a cookie name').optional().describe('cookie: its name (default portico_lb)'),
    secret: z.string().optional().describe('cookie: HMAC key, so values cannot be computed from addresses'),
    max_age: z
      .union([z.string(), z.number().nonnegative()])
      .superRefine((v, ctx) => {
        if (typeof v === 'string' && !isDuration(v)) ctx.addIssue({ code: 'custom', message: `expected a duration such as 12h, got '${v}'` });
      })
      .transform((v) => parseDuration(v))
      .optional()
      .describe('cookie: lifetime (duration); none: a session cookie'),
  })
  .strict();

const policy = z
  .union([z.enum(POLICIES), policyObject])
  .default('round_robin')
  .transform((p) => (typeof p === 'string' ? { name: p } : p))
  .superRefine((p, ctx) => {
    if (p.name === 'hash') {
      if (p.key === undefined) ctx.addIssue({ code: 'custom', message: 'hash needs a key: { name: hash, key: uri | "header:<Name>" | "cookie:<name>" }' });
      else if (!parseHashKey(p.key)) ctx.addIssue({ code: 'custom', path: ['key'], message: `expected uri, header:<Name> or cookie:<name>, got '${p.key}'` });
    } else if (p.key !== undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'key applies to the hash policy only' });
    if (p.name !== 'cookie' && (p.cookie !== undefined || p.secret !== undefined || p.max_age !== undefined))
      ctx.addIssue({ code: 'custom', message: 'cookie, secret and max_age apply to the cookie policy only' });
    if (p.fallback !== undefined && p.name !== 'hash' && p.name !== 'cookie')
      ctx.addIssue({ code: 'custom', path: ['fallback'], message: 'fallback applies to the hash and cookie policies only' });
  })
  .describe('How a server is chosen: round_robin (default, smooth weighted), least_conn, random, random_two, ip_hash, first, hash, cookie');

/** "2xx", "200-399" or 204 -> an inclusive range. */
export function parseStatusRange(v: string | number): [number, number] | undefined {
  if (typeof v === 'number') return v >= 100 && v <= 599 ? [v, v] : undefined;
  let m = /^([1-5])xx$/.exec(v);
  if (m) return [Number(m[1]) * 100, Number(m[1]) * 100 + 99];
  m = /^(\d{3})(?:-(\d{3}))?$/.exec(v);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return lo >= 100 && hi <= 599 && lo <= hi ? [lo, hi] : undefined;
}

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name');

const healthCheck = z
  .object({
    method: z
      .enum(['GET', 'HEAD'])
      .default('GET')
      .describe("GET (default), or HEAD when the body is not looked at: the server sends no body ('body' needs GET)"),
    path: z.string().startsWith('/').default('/').describe('Path (and query) requested'),
    interval: duration('5s').describe('Time between two checks of a server'),
    timeout: duration('2s').describe('A check that takes longer (connect + response) fails'),
    status: z
      .union([z.string(), z.number().int()])
      .default('200-399')
      .superRefine((v, ctx) => {
        if (!parseStatusRange(v)) ctx.addIssue({ code: 'custom', message: `expected a status, a class such as 2xx, or a range such as 200-399, got '${v}'` });
      })
      .describe('Statuses that pass: 200, "2xx" or "200-399" (default)'),
    body: z.string().optional().describe('Text the response body must contain (first 64 KiB)'),
    passes: z.number().int().min(1).default(1).describe('Consecutive passes that make an unhealthy server healthy'),
    fails: z.number().int().min(1).default(1).describe('Consecutive failures that make a healthy server unhealthy'),
    port: z.number().int().min(1).max(65535).optional().describe("Check this port instead of the server's own"),
    headers: z.record(headerName, z.string()).optional().describe('Extra request headers (Host defaults to the server address)'),
  })
  .strict()
  .superRefine((hc, ctx) => {
    if (hc.method === 'HEAD' && hc.body !== undefined) ctx.addIssue({ code: 'custom', path: ['body'], message: 'a HEAD response has no body to look in; use method: GET' });
  });

const retry = z
  .object({
    on: z
      .array(retryCondition)
      .default(['error', 'timeout'])
      .describe(
        'When to try the next server (nginx proxy_next_upstream): error and timeout for any method while nothing was sent, and for idempotent methods whose body can be resent; http_502/503/504 (and other http_NNN) for idempotent methods only; non_idempotent: POST, PATCH and LOCK too once sent (their body held for it), for applications that make them safe to repeat',
      ),
    tries: z.number().int().min(0).default(0).describe('Most servers tried per request, the first included; 0: each server once'),
    try_duration: duration('0s').describe(
      'No new try starts this long after the request reached the pool; 0: no limit. Within it, once every server was tried (or none is available), the request waits try_interval and tries them again, the same ones included (Caddy lb_try_duration)',
    ),
    try_interval: duration('250ms').describe(
      'With try_duration: the wait before every server is tried again; 0: each server once, no waiting (nginx proxy_next_upstream_timeout) (Caddy lb_try_interval)',
    ),
  })
  .strict();

const queue = z
  .object({
    size: z.number().int().min(0).default(100).describe('Requests that may wait while every server is at max_conns; more get 503'),
    timeout: duration('30s').describe('How long a request waits for a free server before a 503'),
  })
  .strict();

const tls = z
  .object({
    ca: z.string().min(1).optional().describe("PEM file of the CAs to trust instead of the system's (relative to the config file)"),
    server_name: z.string().min(1).optional().describe('SNI name, and the name the certificate must carry; default: the host in the address'),
    insecure_skip_verify: z.boolean().default(false).describe('Accept any certificate (testing only)'),
  })
  .strict();

export const upstreamPool = z
  .object({
    servers: z.array(server).min(1).describe('host:port, http://host:port, https://host[:port] or unix:/path.sock, or { address, weight, max_conns, backup, down }'),
    policy,
    max_fails: z.number().int().min(0).default(1).describe('Failures (see fail_on) within fail_timeout that take a server out (nginx max_fails); 0: never'),
    fail_timeout: duration('10s').describe('How long a failed server sits out, and the window failures are counted in (nginx fail_timeout)'),
    fail_on: z.array(condition).default(['error', 'timeout']).describe('What counts as a failure for max_fails'),
    health_check: healthCheck.optional().describe('Active health checks'),
    retry: retry.prefault({}),
    queue: queue.prefault({}),
    tls: tls.optional().describe('Settings for the https:// servers'),
  })
  .strict()
  .superRefine((pool, ctx) => {
    const addresses = pool.servers.map((s) => (typeof s === 'string' ? s : s.address));
    const parsed = addresses.map((a) => parseUpstream(a));
    const seen = new Map<string, number>();
    parsed.forEach((a, i) => {
      if (!a) return;
      const first = seen.get(a.key);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['servers', i], message: `${a.key} is already servers[${first}]` });
      else seen.set(a.key, i);
    });
    if (pool.servers.every((s) => typeof s !== 'string' && (s.backup || s.down)))
      ctx.addIssue({ code: 'custom', path: ['servers'], message: 'expected at least one server that is neither backup nor down' });
    if (pool.tls && !parsed.some((a) => a?.scheme === 'https'))
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls applies to https:// servers, and this pool has none' });
    if (pool.health_check?.port !== undefined && parsed.some((a) => a?.scheme === 'unix'))
      ctx.addIssue({ code: 'custom', path: ['health_check', 'port'], message: 'a unix socket server has no port to override' });
  });

export type UpstreamPoolConfig = z.output<typeof upstreamPool>;
export type UpstreamServerConfig = UpstreamPoolConfig['servers'][number];

/**
 * `proxy.to`: the name of an entry in `upstreams`, an address, a list of servers, or a pool
 * written inline. Normalized to a reference or a full pool with its defaults.
 */
export const proxyTarget = z
  .union([
    z.string().superRefine((v, ctx) => {
      if (UPSTREAM_NAME.test(v)) return; // a name; the top level checks that it exists
      const problem = addressProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    z.array(server).min(1),
    upstreamPool,
  ])
  .transform((v): { upstream: string } | { pool: UpstreamPoolConfig } => {
    if (typeof v === 'string' && UPSTREAM_NAME.test(v)) return { upstream: v };
    if (typeof v === 'string' || Array.isArray(v)) return { pool: upstreamPool.parse({ servers: typeof v === 'string' ? [v] : v }) };
    return { pool: v };
  })
  .describe('An upstreams name, host:port (or unix:/path.sock, https://host), a list of servers, or an inline pool { servers, policy, ... }');
