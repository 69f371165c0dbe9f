/**
 * Config for shielding app servers (issue 7): client limits and timeouts, buffering, rate and
 * connection limits, access control. Names follow nginx's directives where one exists
 * (client_max_body_size -> max_body_size, proxy_buffering -> buffering.response, limit_req,
 * limit_conn, allow/deny, auth_basic) so the nginx adapter maps them one to one.
 */
import { z } from 'zod';
import { duration, size, optionalSize, rate } from './zod-units.js';
import { isCidrList } from '../http/cidr.js';
import { isFieldValue } from '../http/head.js';
import { isPasswordHash } from './password-hash-format.js';

/** Toward clients, on every listener (read before a virtual host is known, as nginx's http-level settings). */
export const client = z
  .object({
    header_timeout: duration('60s').describe('Whole request head must arrive within this (nginx client_header_timeout) -> 408'),
    body_timeout: duration('60s').describe('Between two reads of a request body, not for the whole body (nginx client_body_timeout) -> 408'),
    keepalive_timeout: duration('75s').describe('Idle keep-alive connections are closed after this (nginx keepalive_timeout)'),
    send_timeout: duration('60s').describe('A client that accepts no response byte for this long is disconnected (nginx send_timeout)'),
    max_header_size: size('16KiB').describe('Request line and headers together -> 431'),
    max_headers: z.number().int().positive().default(100).describe('Most header fields in a request -> 431'),
    max_uri_length: size('8KiB').describe('Longest request target -> 414'),
    max_body_size: size('10MiB').describe('Default request body limit of every route; 0: none (nginx client_max_body_size) -> 413'),
  })
  .strict()
  .prefault({});

export const buffering = z
  .union([
    z.boolean(),
    z
      .object({
        request: z.boolean().default(true).describe('Read the whole request body before contacting the upstream (nginx proxy_request_buffering)'),
        response: z.boolean().default(true).describe('Read the response as fast as the upstream sends it (nginx proxy_buffering)'),
        memory_limit: size('64KiB').describe('Held in memory per request body or response before spilling to a temp file'),
        max_temp_file_size: size('1GiB').describe('Response backlog on disk; beyond it the upstream is read at the client\'s pace (nginx proxy_max_temp_file_size)'),
      })
      .strict(),
  ])
  .default(true)
  .transform((b) => {
    const defaults = { request: true, response: true, memory_limit: 64 * 1024, max_temp_file_size: 1024 ** 3 };
    return typeof b === 'boolean' ? { ...defaults, request: b, response: b } : b;
  })
  .describe('true (default), false, or { request, response, memory_limit, max_temp_file_size }');

/**
 * Process-wide caps on response and request-body temp files (issue 12): nginx has only the
 * per-response proxy_max_temp_file_size. Past a cap nothing more is spooled and the upstream
 * (or the uploading client) goes at the other side's pace; 0 spools nothing to disk.
 */
export const tempFiles = z
  .object({
    dir: z
      .string()
      .min(1)
      .optional()
      .describe("Directory of temp files (nginx proxy_temp_path / client_body_temp_path); default os.tmpdir(); relative to the config file's directory"),
    max_total_size: size('1GiB').describe('All temp files of the process together; beyond it responses go at the client\'s pace and uploads wait'),
    max_connection_size: size('256MiB').describe('Temp files of one client connection together (HTTP/2: all streams of the session)'),
  })
  .strict()
  .prefault({});

const cidrs = z
  .union([z.string(), z.array(z.string()).min(1)])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .superRefine((list, ctx) => {
    for (const entry of list)
      if (entry !== 'all' && isCidrList([entry]) !== undefined)
        ctx.addIssue({ code: 'custom', message: `expected a CIDR, an IP address, 'private_ranges' or 'all', got '${entry}'` });
  });

export const access = z
  .array(z.union([z.object({ allow: cidrs }).strict(), z.object({ deny: cidrs }).strict()]))
  .min(1)
  .describe('nginx allow/deny: rules in order, the first whose CIDRs hold the client IP decides; none matching: allowed');

export const basicAuth = z
  .object({
    realm: z.string().refine(isFieldValue, 'the realm is sent in a header: no CR, LF or other controls').default('Restricted'),
    users: z
      .record(
        z.string().regex(/^[^:\s]+$/, 'a user name has no colon or space'),
        z.string().refine(isPasswordHash, 'expected a bcrypt hash ($2a$/$2b$/$2y$; make one with `portico hash-password`) or another htpasswd format ($apr1$, $1$, $5$, $6$, {SHA}, {SSHA}, {PLAIN})'),
      )
      .optional(),
    users_file: z
      .string()
      .optional()
      .describe('htpasswd file: bcrypt lines (user:$2y$..., `htpasswd -B`), or $apr1$, $1$, $5$, $6$, {SHA}, {SSHA}, {PLAIN}; a user whose hash is of another format (crypt DES) is never let in'),
  })
  .strict()
  .refine((a) => a.users !== undefined || a.users_file !== undefined, 'expected users or users_file');

/**
 * What all basic_auth routes share (top-level `password_checks`). bcrypt runs on worker threads,
 * never on the event loop, behind a bounded queue; wrong credentials are limited per client
 * address by default (nginx and Caddy have no such limit: nginx users add limit_req or
 * fail2ban). A restart is needed to change it.
 */
export const passwordChecks = z
  .object({
    threads: z
      .union([z.literal('auto'), z.number().int().min(1).max(64)])
      .default('auto')
      .describe("Worker threads that verify basic_auth passwords (bcrypt) off the event loop, started with the first check; 'auto': 2, or 1 on one core"),
    queue: z
      .number()
      .int()
      .nonnegative()
      .default(32)
      .describe('Checks waiting for a free thread; when full, a request that needs a check gets 503 with Retry-After: 1'),
    max_failures: z
      .number()
      .int()
      .nonnegative()
      .default(10)
      .describe('Wrong credentials per client IP within failure_window; beyond, 429 with Retry-After until the window has passed; 0: no limit'),
    failure_window: duration('1m').describe('The window max_failures counts in, from the first check of the address'),
    max_clients: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('Client addresses remembered (least recently used forgotten first): bounds memory'),
  })
  .strict()
  .prefault({});

const key = z.string().min(1).default('{client_ip}').describe('Placeholder template: "{client_ip}" (default), "{remote_ip}", "{header.X-Api-Key}"');
const status = z.number().int().min(400).max(599).default(429);
const dryRun = z
  .boolean()
  .default(false)
  .describe('nginx *_dry_run: requests are counted as usual, but one over the limit passes (at once) and a warning is logged');

const limitReqOne = z
  .object({
    rate: rate,
    burst: z.number().int().nonnegative().default(0).describe('Requests beyond the rate queued (delayed) or, with nodelay, passed at once'),
    nodelay: z.boolean().default(false),
    delay: z.number().int().nonnegative().optional().describe('nginx delay=N: the first N excess requests pass at once, the rest of the burst is delayed'),
    key,
    zone: z.string().min(1).optional().describe('Routes naming the same zone share one counter per key'),
    max_keys: z.number().int().positive().default(100_000).describe('Keys remembered (least recently used forgotten first): bounds memory'),
    status,
    dry_run: dryRun,
  })
  .strict()
  .refine((l) => !(l.nodelay && l.delay !== undefined), 'nodelay and delay exclude each other');

export const limitReq = z
  .union([limitReqOne, z.array(limitReqOne).min(1)])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .describe('nginx limit_req: leaky bucket per key; excess -> status (429) with Retry-After');

const limitConnOne = z
  .object({
    max: z.number().int().positive().describe('Requests in progress at once per key'),
    key,
    zone: z.string().min(1).optional(),
    status,
    dry_run: dryRun,
  })
  .strict();

export const limitConn = z
  .union([limitConnOne, z.array(limitConnOne).min(1)])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .describe('nginx limit_conn: concurrent requests per key; a list applies each (a request must fit in all)');

export const satisfy = z
  .enum(['all', 'any'])
  .optional()
  .describe("nginx satisfy: 'all' (default) needs access and basic_auth to pass; 'any' lets a request through when either does");

/** nginx limit_except METHOD... { allow/deny, auth_basic }: what other methods must pass. */
export const limitExcept = z
  .object({
    methods: z
      .array(z.string().regex(/^[A-Z]+$/, 'a method in capitals, such as GET'))
      .min(1)
      .describe('Methods that are NOT restricted (GET implies HEAD, as in nginx)'),
    access: access.optional().describe('allow/deny for every other method (replaces the route\'s access for them)'),
    basic_auth: basicAuth.optional().describe('basic_auth for every other method (replaces the route\'s basic_auth for them)'),
  })
  .strict()
  .refine((l) => l.access !== undefined || l.basic_auth !== undefined, 'expected access or basic_auth')
  .describe('nginx limit_except: requests whose method is not listed must pass these checks instead of the route\'s own');

export const unknownHost = z
  .union([z.enum(['default', 'close']), z.literal(421)])
  .default('default')
  .describe("Requests whose Host matches no server on this server's addresses: 'default' (nginx: the default server), 'close' (nginx return 444) or 421");

export const routeMaxBodySize = optionalSize();

export type ClientConfig = z.output<typeof client>;
export type BufferingConfig = z.output<typeof buffering>;
export type TempFilesConfig = z.output<typeof tempFiles>;
export type AccessConfig = z.output<typeof access>;
export type BasicAuthConfig = z.output<typeof basicAuth>;
export type PasswordChecksConfig = z.output<typeof passwordChecks>;
export type LimitReqConfig = z.output<typeof limitReq>[number];
export type LimitConnConfig = z.output<typeof limitConn>[number];
export type LimitExceptConfig = z.output<typeof limitExcept>;
