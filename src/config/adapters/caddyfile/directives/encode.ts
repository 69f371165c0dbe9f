/**
 * `encode` (https://caddyserver.com/docs/caddyfile/directives/encode) -> the route's
 * `compress`, with Caddy's defaults:
 *   encode [<matcher>] [<formats...>] {
 *       gzip [<level>]            Caddy's default level 5
 *       zstd [<level>]            default 3 (Caddy's "default")
 *       br [<quality>]            a plugin in Caddy; Portico has brotli
 *       minimum_length <length>   default 512
 *       prefer <formats...>       (older Caddyfiles) the order of preference
 *       match { header Content-Type <types...> }   the type list; `status` is not carried over
 *   }
 * Formats in the block come first, then those on the line (Caddy's order of preference);
 * none at all means zstd and gzip. Caddy compresses HTTP/1.0 and proxied requests too, so
 * http_version is 1.0 and proxied [any]. The request matcher applies as for any middleware
 * (routes.ts).
 */
import type { Directive } from '../parser.js';
import type { Token } from '../lexer.js';
import type { CaddyContext, RouteState } from '../context.js';

const FORMATS = new Set(['gzip', 'zstd', 'br']);
const LEVELS: Record<string, [number, number]> = { gzip: [1, 9], zstd: [1, 19], br: [0, 11] };
/** klauspost/compress's named zstd levels, as Caddy's zstd encoder takes them. */
const ZSTD_NAMED: Record<string, number> = { fastest: 1, default: 3, better: 7, best: 11 };

export function encode(ctx: CaddyContext, d: Directive, args: Token[], state: RouteState): void {
  // An encode nearer the handler (inside a handle) compresses first, and Caddy's outer one then
  // sees Content-Encoding set and passes: the inner one wins. The adapter applies a group's own
  // middleware before the site's, so the first one set stays.
  const kept = state.compress !== undefined;
  const fromBlock: string[] = [];
  const level: Record<string, number> = {};
  const out: Record<string, unknown> = { http_version: '1.0', proxied: ['any'] };
  let prefer: string[] | undefined;
  for (const sub of d.block ?? []) {
    const subArgs = sub.args.map((t) => t.text);
    switch (sub.name) {
      case 'minimum_length':
        if (subArgs.length !== 1 || !/^\d+$/.test(subArgs[0]!)) ctx.diag.error(sub, 'minimum_length: expected a number of bytes');
        else out.min_length = Number(subArgs[0]);
        break;
      case 'prefer':
        prefer = subArgs;
        break;
      case 'match':
        matchTypes(ctx, sub, out);
        break;
      default:
        if (!FORMATS.has(sub.name)) {
          ctx.diag.error(sub, `encode: unknown format or option "${sub.name}"`);
          break;
        }
        fromBlock.push(sub.name);
        if (subArgs.length > 0) {
          const text = subArgs[0]!;
          const n = sub.name === 'zstd' && text in ZSTD_NAMED ? ZSTD_NAMED[text]! : Number(text);
          const [lo, hi] = LEVELS[sub.name]!;
          if (!Number.isInteger(n) || n < lo || n > hi) ctx.diag.error(sub, `encode ${sub.name}: level "${text}" is not ${lo} to ${hi}`);
          else level[sub.name] = n;
        }
    }
  }
  const fromLine = args.map((t) => t.text);
  for (const f of fromLine) if (!FORMATS.has(f)) ctx.diag.error(d, `encode: unknown format "${f}"`);
  let order = [...fromBlock, ...fromLine.filter((f) => FORMATS.has(f))];
  if (order.length === 0) order = ['zstd', 'gzip'];
  if (prefer !== undefined) order = [...prefer.filter((f) => order.includes(f)), ...order.filter((f) => !prefer!.includes(f))];
  out.codings = [...new Set(order)];
  if (Object.keys(level).length > 0) out.level = level;
  if (!kept) state.compress = out;
}

/** `match header Content-Type ...` -> types; other response matchers are left out with a warning. */
function matchTypes(ctx: CaddyContext, sub: Directive, out: Record<string, unknown>): void {
  const lines: string[][] = sub.block ? sub.block.map((l) => [l.name, ...l.args.map((t) => t.text)]) : [sub.args.map((t) => t.text)];
  const types: string[] = [];
  for (const [kind, field, ...values] of lines) {
    if (kind === 'header' && field?.toLowerCase() === 'content-type') {
      for (const v of values) {
        // Caddy's header matcher: a leading or trailing * is a wildcard.
        if (v.startsWith('*') && v !== '*') ctx.diag.warn(sub, `encode match: Content-Type "${v}" (a suffix) is not carried over`);
        else types.push(v === '*' ? '*' : v);
      }
    } else ctx.diag.warn(sub, `encode match ${kind ?? ''} ${field ?? ''}: only Content-Type is carried over; the default types apply otherwise`.replace(/\s+:/, ':'));
  }
  if (types.length > 0) out.types = types;
}
