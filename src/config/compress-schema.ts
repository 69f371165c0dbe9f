/**
 * `compress`: responses compressed on the fly (nginx `gzip`, Caddy `encode`), at server level
 * (every route) or route level (a route's `compress` replaces its server's whole; `false`
 * turns it off). `true` is every default below. What the keys mean and why the defaults are
 * what they are: docs/configuration.md; the filter itself: src/filters/compress.ts.
 */
import { z } from 'zod';
import { regexProblem } from '../regex/safe-regex.js';
import { isSize, parseSize } from './size.js';

/** Codings in Portico's default order of preference (server side of a tie in Accept-Encoding). */
export const COMPRESS_CODINGS = ['zstd', 'br', 'gzip'] as const;

/**
 * Compressible media types by default: Caddy's list (modules/caddyhttp/encode/encode.go, the
 * text-based types Cloudflare compresses), matched on the media type without parameters, plus
 * application/problem+json (API errors). Images, video, archives and woff fonts are compressed
 * already and are left alone.
 */
export const DEFAULT_COMPRESS_TYPES: readonly string[] = [
  'text/*',
  'application/atom+xml',
  'application/eot',
  'application/font',
  'application/geo+json',
  'application/graphql+json',
  'application/javascript',
  'application/json',
  'application/ld+json',
  'application/manifest+json',
  'application/opentype',
  'application/otf',
  'application/problem+json',
  'application/rss+xml',
  'application/truetype',
  'application/ttf',
  'application/vnd.api+json',
  'application/vnd.ms-fontobject',
  'application/wasm',
  'application/x-httpd-cgi',
  'application/x-javascript',
  'application/x-opentype',
  'application/x-otf',
  'application/x-perl',
  'application/x-protobuf',
  'application/x-ttf',
  'application/xhtml+xml',
  'application/xml',
  'font/otf',
  'font/ttf',
  'image/svg+xml',
  'image/vnd.microsoft.icon',
  'image/x-icon',
  'multipart/bag',
  'multipart/mixed',
];

/**
 * nginx `gzip_proxied` (https://nginx.org/en/docs/http/ngx_http_gzip_module.html#gzip_proxied):
 * for a request that came through another proxy (it has `Via`), whether to compress; `any`
 * always, `off` never, the others when the response (or, for `auth`, the request) says so.
 */
export const COMPRESS_PROXIED = ['off', 'expired', 'no-cache', 'no-store', 'private', 'no_last_modified', 'no_etag', 'auth', 'any'] as const;

/** The default levels: Caddy's gzip level (5), brotli 4 and zstd 3, the usual choices for compressing as responses go. */
export const DEFAULT_COMPRESS_LEVEL = { gzip: 5, br: 4, zstd: 3 } as const;

/** A media type ("application/json"), a type with any subtype ("text/*"), a prefix ending in "*", or "*" (everything). */
const mediaPattern = z
  .string()
  .transform((v) => v.trim().toLowerCase())
  .refine((v) => v === '*' || /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]*$/.test(v), 'expected a media type such as application/json, text/*, or *');

/** nginx `gzip_disable`: case-insensitive, as nginx compiles it; through the ReDoS policy as every regex that sees request data. */
const userAgentRegex = z.string().superRefine((text, ctx) => {
  const problem = regexProblem(text, true);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const minLength = z
  .union([z.string(), z.number().int().nonnegative()])
  .superRefine((v, ctx) => {
    if (typeof v === 'string' && !isSize(v)) ctx.addIssue({ code: 'custom', message: `expected a size such as 512 or 1k, got '${v}'` });
  })
  .transform((v) => parseSize(v));

export const compressOptions = z
  .object({
    codings: z
      .array(z.enum(COMPRESS_CODINGS))
      .min(1)
      .default([...COMPRESS_CODINGS])
      .refine((list) => new Set(list).size === list.length, 'a coding is listed twice')
      .describe(
        'Codings offered, in the order that breaks a tie in the client\'s Accept-Encoding (Caddy: the order in encode); default [zstd, br, gzip]. ' +
          'zstd needs node >= 22.15 (portico check says which codings this node has); one it lacks is skipped',
      ),
    types: z
      .array(mediaPattern)
      .min(1)
      .default([...DEFAULT_COMPRESS_TYPES])
      .describe('Media types compressed (Content-Type without parameters): exact, "text/*", a prefix ending in "*", or "*"; default Caddy\'s list of text types'),
    min_length: minLength
      .default(512)
      .describe('Responses whose Content-Length is below this are sent as they are (a response of unknown length counts as large); default 512 (Caddy), nginx gzip_min_length 20'),
    level: z
      .object({
        gzip: z.number().int().min(1).max(9).default(DEFAULT_COMPRESS_LEVEL.gzip),
        br: z.number().int().min(0).max(11).default(DEFAULT_COMPRESS_LEVEL.br),
        zstd: z.number().int().min(1).max(19).default(DEFAULT_COMPRESS_LEVEL.zstd),
      })
      .strict()
      .default({ ...DEFAULT_COMPRESS_LEVEL })
      .describe('Level per coding: gzip 1-9 (default 5, nginx gzip_comp_level 1), br 0-11 (default 4), zstd 1-19 (default 3)'),
    proxied: z
      .array(z.enum(COMPRESS_PROXIED))
      .min(1)
      .default(['any'])
      .describe('Requests that came through another proxy (with Via): nginx gzip_proxied; default [any]'),
    disable: z.array(userAgentRegex).default([]).describe('User-Agent regexes (case-insensitive) whose requests get no compression (nginx gzip_disable)'),
    http_version: z
      .enum(['1.0', '1.1'])
      .default('1.1')
      .describe('Oldest HTTP version of a request whose response is compressed (nginx gzip_http_version); an HTTP/1.0 response has to be close-delimited once its length is unknown'),
  })
  .strict();

export const compress = z
  .union([z.boolean(), compressOptions])
  .optional()
  .describe('Compress responses on the fly (gzip, br, zstd): true for the defaults, or options; a route\'s compress replaces its server\'s, false turns it off');

export type CompressConfig = z.output<typeof compressOptions>;

/** The options a config's `compress` means, or undefined when it compresses nothing. */
export function compressConfigOf(value: boolean | CompressConfig | undefined): CompressConfig | undefined {
  if (value === undefined || value === false) return undefined;
  return value === true ? compressOptions.parse({}) : value;
}
