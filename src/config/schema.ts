/**
 * The one schema of Portico's configuration. Every format (YAML, JSON, and the nginx and
 * Caddyfile adapters) ends up as this shape; `portico schema` prints it as JSON Schema.
 */
import { z } from 'zod';
import { isDuration, parseDuration } from './duration.js';
import { duration } from './duration-schema.js';
import { parseListen } from './address.js';
import { parseLocation } from './location-syntax.js';
import { isCidrList } from '../http/cidr.js';
import { proxyTarget, upstreamPool, UPSTREAM_NAME } from './upstream-schema.js';
import { routeMatch } from './match-schema.js';
import * as shield from './shield-schema.js';
import { checkRewriteRegex } from './rewrite-syntax.js';
import { isFieldValue, isRequestTarget } from '../http/head.js';
import { mapKeyProblem } from './map-key.js';
import { hostNameProblem } from './host-name.js';
import { admin } from './admin-schema.js';
import { accessLogSetting, checkAccessLogs, errorLog, logFormats, requestId } from './log-schema.js';
import { compress } from './compress-schema.js';
import { cacheZone, routeCache } from './cache-schema.js';

export const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';

/** "[host]:port", or a bare port as a string or a number (`listen: 8080`, as nginx's `listen 8080;`). */
const listen = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .superRefine((v, ctx) => {
    if (!parseListen(v)) ctx.addIssue({ code: 'custom', message: `expected a port or [host]:port such as 8080, ':8080' or '127.0.0.1:8080', got '${v}'` });
  });

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name');

/**
 * Config text that lands in a response or request head is refused when the config is loaded
 * if no head may carry it (src/http/head.ts), rather than refused on every request.
 */
const FIELD_TEXT = 'a header value may hold printable characters, spaces and tabs, not CR, LF or other controls (RFC 9110 §5.5)';
const fieldText = z.string().refine(isFieldValue, FIELD_TEXT);
/** A rewrite target (a decoded path, encoded again on the way out, or a Location): no controls. */
const noControls = (v: string) => !/[\x00-\x1f\x7f]/.test(v);

const headerOps = z
  .object({
    set: z.record(headerName, fieldText).optional().describe('Replace these headers (placeholders such as {host} allowed)'),
    add: z.record(headerName, fieldText).optional().describe('Append these headers, keeping existing ones'),
    remove: z.array(headerName).optional().describe('Remove these headers'),
  })
  .strict();

/**
 * Headers `request_headers` may not name: the body's framing, which Portico writes from the
 * body it forwards (a Content-Length or Transfer-Encoding the config wrote could disagree with
 * it, and the upstream would read part of the body as another request), and the hop-by-hop
 * ones, which describe Portico's own connection to the upstream (RFC 9110 §7.6.1; upgrades are
 * chosen with `proxy.upgrade`).
 */
export const PORTICO_FRAMED: readonly string[] = ['content-length', 'transfer-encoding', 'connection', 'upgrade', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'http2-settings'];

const requestHeaderOps = headerOps.superRefine((ops, ctx) => {
  const names: [string, PropertyKey[]][] = [
    ...Object.keys(ops.set ?? {}).map((n): [string, PropertyKey[]] => [n, ['set', n]]),
    ...Object.keys(ops.add ?? {}).map((n): [string, PropertyKey[]] => [n, ['add', n]]),
    ...(ops.remove ?? []).map((n, i): [string, PropertyKey[]] => [n, ['remove', i]]),
  ];
  for (const [name, path] of names)
    if (PORTICO_FRAMED.includes(name.toLowerCase()))
      ctx.addIssue({ code: 'custom', path, message: `${name} is written by Portico itself (message framing and its own connection); it cannot be set, added or removed` });
});

/**
 * Response headers may also be added only to successful and redirect responses, as nginx's
 * `add_header` does without `always` (https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header).
 */
const responseHeaderOps = z
  .object({
    set: headerOps.shape.set,
    add: z
      .record(
        headerName,
        z.union([
          fieldText,
          z
            .object({
              value: fieldText,
              success_only: z.boolean().default(false).describe('Only on 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 responses'),
            })
            .strict(),
        ]),
      )
      .optional()
      .describe('Append these headers, keeping existing ones; { value, success_only: true } adds one only to 2xx/3xx answers'),
    remove: headerOps.shape.remove,
  })
  .strict();

const proxy = z
  .object({
    to: proxyTarget,
    connect_timeout: duration('5s').describe('Time to establish the upstream connection (-> 502/504)'),
    read_timeout: duration('60s').describe('Time to wait for response headers, and between body reads (-> 504)'),
    keepalive_timeout: duration('1500ms').describe(
      'How long an idle upstream connection is kept; shorter than gunicorn keep-alive (2s) to avoid reset races',
    ),
    keepalive_connections: z.number().int().positive().default(64).describe('Upper bound of connections per upstream address'),
    max_concurrent_per_connection: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Requests of one client connection (HTTP/2: all streams of the session) this route forwards at once; more wait their turn. ' +
          "Default: half of the upstream's connections (keepalive_connections, or max_conns, summed over the pool's servers)",
      ),
    buffering: shield.buffering,
    redirect: z
      .array(z.object({ from: z.string().min(1), to: fieldText }).strict())
      .optional()
      .describe(
        "Rewrites the upstream's Location header (nginx proxy_redirect): the first 'from' it starts with is replaced by 'to', " +
          'e.g. { from: "http://127.0.0.1:8000/", to: "/" }; Refresh URLs too',
      ),
    redirect_default: z
      .boolean()
      .default(true)
      .describe(
        "After the redirect rules: a Location or Refresh naming the upstream server's own address (http://host:port + the path prefix sent upstream) " +
          "gets the route's prefix instead, as nginx's default proxy_redirect; false passes them as sent",
      ),
    upgrade: z
      .array(
        z
          .string()
          .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected a protocol name such as websocket')
          .refine((p) => p.toLowerCase() !== 'h2c', 'h2c is never tunnelled: after its 101 the client would speak HTTP/2 straight to the upstream, past every route rule'),
      )
      .default(['websocket'])
      .describe(
        'Protocols an Upgrade request may switch to through a tunnel (RFC 9110 §7.8), by name, case-insensitive; [] tunnels none. ' +
          'Any other Upgrade request is served as a plain request, without its Upgrade header',
      ),
    path_prefix: z
      .string()
      .startsWith('/')
      .refine(isRequestTarget, 'the path sent upstream cannot hold spaces or control characters (RFC 9112 §3.2)')
      .optional()
      .describe(
        "Replaces the route's prefix (or strip_prefix) in the path sent upstream, literally, as nginx's proxy_pass with a URI part: " +
          'path /api/ with path_prefix /v1/ sends /api/x as /v1/x',
      ),
  })
  .strict();

/**
 * nginx's `rewrite REGEX REPLACEMENT [flag]` (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html#rewrite):
 * run in order; a match replaces the path (and the query when `to` has a "?").
 */
const rewriteRule = z
  .object({
    match: z
      .string()
      .superRefine((v, ctx) => {
        const err = checkRewriteRegex(v);
        if (err) ctx.addIssue({ code: 'custom', message: err });
      })
      .describe('Regular expression tested against the normalized path; a leading (?i) ignores case'),
    to: z.string().min(1).refine(noControls, 'must not hold CR, LF or other control characters').describe('New path (placeholders such as {re.1} allowed); "http://", "https://" or "{scheme}" at the start makes it a redirect'),
    flag: z
      .enum(['last', 'break', 'redirect', 'permanent'])
      .optional()
      .describe('last: choose the route again; break: keep this route; redirect: 302; permanent: 301; none: go on with the next rule'),
  })
  .strict();

const respond = z
  .object({
    status: z.number().int().min(100).max(599).default(200),
    body: z.string().default(''),
    headers: z.record(headerName, fieldText).optional(),
    close: z.boolean().default(false).describe('Close the connection without answering (nginx return 444); status, body and headers are ignored'),
  })
  .strict();

const redirect = z
  .object({
    to: z.string().min(1).refine(isFieldValue, FIELD_TEXT).describe('Target; placeholders such as {host} and {uri} allowed'),
    status: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]).default(302),
  })
  .strict();

/** `files`: serve a directory from disk (nginx root/alias/index/try_files, Caddy file_server). */
const codings = ['br', 'zstd', 'gzip'] as const;
const fileName = z
  .string()
  .min(1)
  .refine((v) => !v.includes('/') && v !== '.' && v !== '..', 'expected a file name without "/"');

const files = z
  .object({
    root: z
      .string()
      .min(1)
      .optional()
      .describe('Directory the request path is appended to (nginx root); relative to the config file\'s directory'),
    alias: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Directory that replaces the route's prefix (nginx alias); on a regex route a template using {re.N} captures; relative to the config file's directory",
      ),
    index: z.array(fileName).default(['index.html']).describe('Files tried, in order, for a request ending in "/"'),
    try_files: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'Candidates tried in order (nginx try_files): "{path}" or "$uri" is the request path under the served directory, a trailing "/" tries a directory\'s index; the last may be "=404" (any status)',
      ),
    fallback: z
      .object({ proxy })
      .strict()
      .optional()
      .describe('What answers instead of a 404 (and any method but GET/HEAD): a proxy to the app ("static else app", nginx try_files ... @app)'),
    browse: z
      .union([z.boolean(), z.enum(['html', 'json'])])
      .default(false)
      .describe('Directory listings: false, "html", "json", or true (JSON when Accept asks for it, else HTML)'),
    hidden: z.boolean().default(false).describe('Serve files and directories whose name starts with "." (".well-known" always is)'),
    follow_symlinks_outside: z.boolean().default(false).describe('Follow symlinks that lead outside the served directory (otherwise 403)'),
    cache_control: z.string().optional().describe('Cache-Control sent with files (200, 206, 304)'),
    expires: z
      .union([z.enum(['off', 'max']), z.string(), z.number().nonnegative()])
      .default('off')
      .superRefine((v, ctx) => {
        if (typeof v === 'string' && v !== 'off' && v !== 'max' && !isDuration(v))
          ctx.addIssue({ code: 'custom', message: `expected 'off', 'max' or a duration such as 30d, got '${v}'` });
      })
      .transform((v) => (v === 'off' || v === 'max' ? v : parseDuration(v)))
      .describe('nginx expires: a duration sets Expires and Cache-Control max-age (unless cache_control is given); "max" ~10 years'),
    precompressed: z
      .array(z.enum(codings))
      .default([])
      .describe('Serve FILE.br / FILE.zst / FILE.gz sidecars when the client accepts them; list order breaks ties (Caddy precompressed, nginx gzip_static)'),
    etag: z.boolean().default(true).describe('Send ETag ("<mtime ms hex>-<size hex>") and honour If-Match / If-None-Match'),
    file_cache_valid: duration('1s').describe(
      "How long a file's metadata (and a small file's bytes) are trusted before the disk is checked again (nginx open_file_cache_valid); 0 checks on every request",
    ),
  })
  .strict()
  .superRefine((f, ctx) => {
    if ((f.root === undefined) === (f.alias === undefined))
      ctx.addIssue({ code: 'custom', message: 'expected one of root or alias' });
    const list = f.try_files ?? [];
    list.forEach((entry, i) => {
      if (!entry.startsWith('=')) return;
      if (i !== list.length - 1) ctx.addIssue({ code: 'custom', path: ['try_files', i], message: 'a status ("=404") may only be the last entry' });
      else if (!/^=[1-5]\d\d$/.test(entry)) ctx.addIssue({ code: 'custom', path: ['try_files', i], message: `expected a status such as =404, got '${entry}'` });
      else if (f.fallback) ctx.addIssue({ code: 'custom', path: ['try_files', i], message: 'give either a final status or a fallback, not both' });
    });
    if (list.length > 0 && list.every((e) => e.startsWith('=')))
      ctx.addIssue({ code: 'custom', path: ['try_files'], message: 'expected at least one file candidate before the status' });
  });

const route = z
  .object({
    path: z
      .string()
      .superRefine((v, ctx) => {
        const spec = parseLocation(v);
        if (typeof spec === 'string') ctx.addIssue({ code: 'custom', message: spec });
      })
      .describe('nginx location syntax: "/prefix", "= /exact", "^~ /prefix", "~ regex", "~* regex"'),
    strip_prefix: z
      .union([z.boolean(), z.string().startsWith('/')])
      .optional()
      .describe('Remove this prefix (true: the route path) from the path sent upstream'),
    match: routeMatch.optional(),
    rewrite: z.array(rewriteRule).optional().describe("Rewrites run when this route is chosen, before its handler (nginx's location-level rewrite)"),
    access_log: accessLogSetting
      .optional()
      .describe("Where this route's requests are logged (nginx access_log in a location): false (off), { path, format, buffer, flush, if } or a list; default: its server's"),
    request_headers: requestHeaderOps.optional(),
    response_headers: responseHeaderOps.optional(),
    compress,
    proxy: proxy.optional(),
    respond: respond.optional(),
    redirect: redirect.optional(),
    files: files.optional(),
    stub_status: z
      .literal(true)
      .optional()
      .describe("nginx's stub_status page at this route: active connections, accepts, handled, requests, Reading/Writing/Waiting, in nginx's text format"),
    max_body_size: shield.routeMaxBodySize.describe('Largest request body; 0: none; default client.max_body_size (10MiB) -> 413'),
    access: shield.access.optional(),
    basic_auth: shield.basicAuth.optional(),
    limit_req: shield.limitReq.optional(),
    limit_conn: shield.limitConn.optional(),
    satisfy: shield.satisfy,
    limit_except: shield.limitExcept.optional(),
    cache: routeCache.optional(),
    internal: z
      .literal(true)
      .optional()
      .describe('nginx internal: requests that reach this route without a rewrite get 404; one a rewrite (server-level, or another route\'s) sent here is served'),
  })
  .strict()
  .superRefine((r, ctx) => {
    const handlers = (['proxy', 'files', 'respond', 'redirect', 'stub_status'] as const).filter((k) => r[k] !== undefined);
    if (handlers.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message:
          handlers.length === 0
            ? 'expected one handler: proxy, files, respond or redirect'
            : `expected one handler, got ${handlers.join(' and ')}`,
      });
    if (r.proxy?.path_prefix !== undefined && typeof r.strip_prefix !== 'string') {
      const spec = parseLocation(r.path);
      if (typeof spec !== 'string' && spec.kind === 'regex')
        ctx.addIssue({ code: 'custom', path: ['proxy', 'path_prefix'], message: 'path_prefix on a regex route needs strip_prefix as a string (the part it replaces)' });
    }
    if (typeof r.strip_prefix === 'string' || r.strip_prefix === true) {
      const spec = parseLocation(r.path);
      if (r.strip_prefix === true && typeof spec !== 'string' && spec.kind === 'regex')
        ctx.addIssue({ code: 'custom', path: ['strip_prefix'], message: 'strip_prefix: true needs a prefix path; give the prefix as a string' });
    }
    if (r.files?.alias?.includes('{') && (parseLocation(r.path) as { kind?: string }).kind !== 'regex')
      ctx.addIssue({ code: 'custom', path: ['files', 'alias'], message: 'placeholders in alias need a regex route ("~ ^/img/(.+)$")' });
  });

const filePath = z.string().min(1);

const certificateFiles = z
  .object({
    cert: filePath.describe('PEM certificate chain, leaf first (fullchain.pem); reloaded when it changes on disk'),
    key: filePath.describe('PEM private key of the leaf'),
  })
  .strict();

const CHALLENGES = ['http-01', 'tls-alpn-01'] as const;

const acmeOptions = z
  .object({
    email: z.string().email().optional().describe('Contact address given to the CA (expiry notices)'),
    directory: z.string().url().optional().describe("ACME directory URL; default: the top-level acme.directory (Let's Encrypt)"),
    challenges: z
      .array(z.enum(CHALLENGES))
      .min(1)
      .optional()
      .describe('Challenge types to use, in order of preference; default both: http-01 (needs port 80) and tls-alpn-01 (port 443)'),
  })
  .strict();

const tls = z
  .union([
    z.enum(['internal', 'acme', 'auto', 'off']),
    certificateFiles,
    z.array(certificateFiles).min(1),
    z.object({ acme: acmeOptions }).strict(),
  ])
  .describe(
    "HTTPS for this server: 'internal' (local CA), 'acme' or { acme: {...} } (public CA), { cert, key } or a list of them (files), " +
      "'auto' (internal for local names such as localhost, ACME otherwise), 'off'. Default: 'auto' when a listen address uses port 443, else 'off'",
  );

const hsts = z
  .union([
    z.boolean(),
    z
      .object({
        max_age: z.number().int().nonnegative().default(31_536_000).describe('Seconds; default one year'),
        include_subdomains: z.boolean().default(false),
        preload: z.boolean().default(false),
      })
      .strict(),
  ])
  .default(false)
  .describe('Send Strict-Transport-Security on HTTPS responses (true: max-age one year)');

const server = z
  .object({
    listen: z.union([listen, z.array(listen).min(1)]).default([':8080']).describe('Addresses to listen on'),
    hosts: z
      .array(
        z
          .string()
          .min(1)
          .superRefine((v, ctx) => {
            const err = hostNameProblem(v);
            if (err) ctx.addIssue({ code: 'custom', message: err });
          }),
      )
      .optional()
      .describe('Host names: exact, "*.example.com", "www.example.*", "~regex" (case-insensitive); none: any host'),
    default: z.boolean().default(false).describe('Default server of its listen addresses (nginx default_server)'),
    trusted_proxies: z
      .array(z.string())
      .default([])
      .superRefine((list, ctx) => {
        list.forEach((entry, i) => {
          if (isCidrList([entry]) !== undefined)
            ctx.addIssue({ code: 'custom', path: [i], message: `expected a CIDR, an IP address or 'private_ranges', got '${entry}'` });
        });
      })
      .describe("Peers whose X-Forwarded-* headers are believed (CIDRs, or 'private_ranges')"),
    tls: tls.optional(),
    hsts,
    underscores_in_headers: z
      .boolean()
      .default(false)
      .describe(
        'Keep request header fields whose names contain "_" (nginx underscores_in_headers). By default they are dropped, as nginx ignores them: ' +
          'WSGI/CGI read "X_Forwarded_For" as X-Forwarded-For, so the app would see a client value next to Portico\'s',
      ),
    http_redirect: z
      .union([z.literal(false), listen, z.array(listen).min(1)])
      .optional()
      .describe(
        "HTTP address(es) that redirect to this HTTPS server (308) and answer ACME HTTP-01 challenges; default ':80' (same host) " +
          'when the server listens on port 443, else none',
      ),
    unknown_host: shield.unknownHost,
    access_log: accessLogSetting
      .optional()
      .describe("Where this server's requests are logged (nginx access_log in a server): false, { path, format, ... } or a list; default: the top-level access_log"),
    rewrite: z.array(rewriteRule).optional().describe("Rewrites run before the route is chosen (nginx's server-level rewrite)"),
    compress,
    routes: z.array(route).min(1),
  })
  .strict();

/**
 * nginx's `map` (https://nginx.org/en/docs/http/ngx_http_map_module.html): a value chosen by
 * another, read as {map.NAME} in header values, redirect targets and rewrites.
 */
const mapDefinition = z
  .object({
    source: z.string().describe('What is looked up, as a template: "{host}", "{header.Origin}"'),
    values: z
      .record(z.string(), z.string())
      .default({})
      .superRefine((values, ctx) => {
        for (const key of Object.keys(values)) {
          const err = mapKeyProblem(key);
          if (err) ctx.addIssue({ code: 'custom', path: [key], message: err });
        }
      })
      .describe('Source value -> result (a template). Plain keys match ignoring case; "~re" (case-sensitive) and "~*re" keys are tried in order after them'),
    default: z.string().default('').describe('The result when nothing matches'),
  })
  .strict();

/**
 * nginx's `user` (https://nginx.org/en/docs/ngx_core_module.html#user): started as root,
 * `portico run` binds its addresses and reads its certificates, then serves as this user. A
 * name alone takes that user's primary group.
 */
const runAs = z
  .union([
    z.string().min(1),
    z
      .object({
        name: z.string().min(1).describe('User name'),
        group: z.string().min(1).optional().describe("Group name; default the user's primary group"),
      })
      .strict(),
  ])
  .transform((v) => (typeof v === 'string' ? { name: v, group: undefined } : { name: v.name, group: v.group }))
  .optional()
  .describe("Started as root, serve as this user (and group) once the addresses are bound and certificates read: 'www-data' or { name, group }");

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    upstreams: z
      .record(z.string().regex(UPSTREAM_NAME, 'expected a name of letters, digits, "_" and "-"'), upstreamPool)
      .optional()
      .describe('Named upstream pools (nginx upstream blocks), referenced by name from proxy.to'),
    maps: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a name of letters, digits and "_"'), mapDefinition)
      .optional()
      .describe('Named lookups (nginx map), read as {map.NAME}'),
    servers: z.array(server).min(1),
    log_formats: logFormats,
    access_log: accessLogSetting
      .default({ format: 'combined', path: 'stdout', flush: 1000 })
      .describe("The access log: false, { path, format: combined|json|NAME|'<template>', buffer, flush, if }, or a list (each line to each); default combined on stdout"),
    error_log: errorLog,
    request_id: requestId,
    log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    workers: z
      .union([z.literal('auto'), z.number().int().min(1).max(1024)])
      .default(1)
      .describe("Worker processes for `portico run`: a number, or 'auto' for one per core (nginx worker_processes)"),
    user: runAs,
    shutdown_timeout: duration('10s').describe('How long a graceful stop waits for requests in flight'),
    pid_file: z
      .string()
      .min(1)
      .optional()
      .describe('Where `portico run` writes the pid to send signals to, once serving; removed on stop (nginx pid)'),
    password_checks: shield.passwordChecks,
    data_dir: z
      .string()
      .min(1)
      .optional()
      .describe('Where the local CA, ACME account and certificates are kept; default $PORTICO_DATA_DIR, $XDG_DATA_HOME/portico or ~/.local/share/portico'),
    acme: z
      .object({
        email: z.string().email().optional(),
        directory: z.string().url().default(LETS_ENCRYPT).describe("ACME directory URL; default Let's Encrypt production"),
        ca_root: filePath.optional().describe("PEM file of a CA to trust for the directory's own HTTPS (a test CA such as pebble's)"),
      })
      .strict()
      .default({ directory: LETS_ENCRYPT })
      .describe('Defaults for every server using ACME'),
    client: shield.client,
    temp_files: shield.tempFiles,
    admin,
    cache: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a name of letters, digits, "_" and "-"'), cacheZone)
      .optional()
      .describe("Response cache zones by name (nginx proxy_cache_path), used by routes' `cache`"),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    checkAccessLogs(cfg, ctx);
    checkCacheUse(cfg, ctx);
    // proxy.to naming a pool: it must exist (checked here, where `upstreams` is known). zod
    // runs this even when parts failed to parse, so nothing below may assume their shape.
    cfg.servers?.forEach?.((server, si) =>
      server?.routes?.forEach?.((route, ri) => {
        const proxies: [unknown, PropertyKey[]][] = [
          [route?.proxy?.to, ['proxy', 'to']],
          [route?.files?.fallback?.proxy?.to, ['files', 'fallback', 'proxy', 'to']],
        ];
        for (const [to, path] of proxies) {
          if (typeof to !== 'object' || to === null || !('upstream' in to)) continue;
          const name = String(to.upstream);
          if (cfg.upstreams?.[name] === undefined)
            ctx.addIssue({
              code: 'custom',
              path: ['servers', si, 'routes', ri, ...path],
              message: `expected host:port, got '${name}' (and no pool of that name is defined under 'upstreams')`,
            });
        }
      }),
    );
  });

/**
 * A route's `cache` names a zone that exists, on a route that proxies (the cache stores
 * proxied responses: nginx's proxy_cache); and one process serves the cache (`workers: 1`):
 * each worker would keep its own index of the same directory, so a purge in one would leave
 * the others serving the entry and max_size could not be held across them.
 */
function checkCacheUse(cfg: Record<string, unknown> & { servers?: unknown; cache?: Record<string, unknown> | undefined; workers?: unknown }, ctx: z.RefinementCtx): void {
  const servers = Array.isArray(cfg.servers) ? (cfg.servers as { routes?: unknown }[]) : [];
  let used = false;
  servers.forEach((server, si) => {
    const routes = Array.isArray(server?.routes) ? (server.routes as Record<string, unknown>[]) : [];
    routes.forEach((route, ri) => {
      const cache = route?.cache as { zone?: unknown } | undefined;
      if (cache === undefined || typeof cache !== 'object' || cache === null) return;
      used = true;
      const path = ['servers', si, 'routes', ri, 'cache'];
      const zone = String(cache.zone);
      if (cfg.cache?.[zone] === undefined)
        ctx.addIssue({ code: 'custom', path: [...path, 'zone'], message: `no cache zone '${zone}' is defined under the top-level 'cache'` });
      const files = route.files as { fallback?: { proxy?: unknown } } | undefined;
      if (route.proxy === undefined && files?.fallback?.proxy === undefined)
        ctx.addIssue({ code: 'custom', path, message: 'a cache stores proxied responses: the route needs proxy (or files with a fallback proxy)' });
    });
  });
  if (used && cfg.workers !== 1)
    ctx.addIssue({
      code: 'custom',
      path: ['workers'],
      message: 'the response cache needs workers: 1 (each worker process would keep its own index of the cache directory: a purge or max_size could not hold across them)',
    });
}

/** The config as written (before defaults). */
export type PorticoConfigInput = z.input<typeof configSchema>;
/** The validated config, defaults filled in, durations in milliseconds. */
export type PorticoConfig = z.output<typeof configSchema>;
export type ServerConfig = PorticoConfig['servers'][number];
export type RouteConfig = ServerConfig['routes'][number];
export type ProxyConfig = NonNullable<RouteConfig['proxy']>;
export type { UpstreamPoolConfig } from './upstream-schema.js';
export type FilesConfig = NonNullable<RouteConfig['files']>;
export type HeaderOpsConfig = NonNullable<RouteConfig['request_headers']> | NonNullable<RouteConfig['response_headers']>;
export type TlsConfig = NonNullable<ServerConfig['tls']>;
export type AcmeOptionsConfig = z.output<typeof acmeOptions>;
export type CertificateFilesConfig = z.output<typeof certificateFiles>;
export type RewriteRuleConfig = NonNullable<RouteConfig['rewrite']>[number];
export type MapConfig = NonNullable<PorticoConfig['maps']>[string];
export type { CacheZoneConfig, RouteCacheConfig } from './cache-schema.js';

export function jsonSchema(): object {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
