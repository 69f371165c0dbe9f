/**
 * `add_header NAME VALUE [always]` (https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header)
 * -> the route's `response_headers.add`. Like proxy_set_header, a level that has any add_header
 * drops every inherited one (resolved through `effective`). `proxy_hide_header` -> `remove`.
 */
import { effective, effectiveOne, type Scope } from '../scope.js';
import { parseExpires } from '../../../../http/expires.js';
import type { Directive } from '../parser.js';
import { template, type AdaptContext, type ValueScope } from './context.js';

type ResponseHeaders = { add?: Record<string, string | { value: string; success_only: true }>; remove?: string[]; expires?: string };

/** nginx's headers whose add_header replaces the response's (ngx_http_set_headers): an empty value removes it. */
const REPLACED = new Set(['last-modified', 'etag']);

/**
 * `filesExpires`: the files handler carries `expires` itself; otherwise it becomes
 * `response_headers.expires` (any response, variables, epoch, modified, @time).
 */
export function responseHeaders(scope: Scope, hide: readonly string[], ctx: AdaptContext, vs: ValueScope, filesExpires = false): ResponseHeaders | undefined {
  const add: Record<string, string | { value: string; success_only: true }> = {};
  const remove = [...hide];
  for (const d of effective(scope, 'add_header')) {
    const [name, value, always] = d.args as [string, string, string | undefined];
    if (always !== undefined && always !== 'always') {
      ctx.diag.error(d, `invalid parameter "${always}"`);
      continue;
    }
    if (value === '') {
      // nginx adds nothing for an empty value; for ETag and Last-Modified it removes the response's.
      if (REPLACED.has(name.toLowerCase())) {
        delete add[name];
        if (!remove.includes(name)) remove.push(name);
      }
      continue;
    }
    if (value === '$upstream_cache_status') continue; // the route's cache.status_header (emit/cache.ts)
    if (REPLACED.has(name.toLowerCase()) && !remove.includes(name)) remove.push(name);
    const t = template(ctx, vs, d, trimLineEnd(value, d, ctx), `add_header ${name}`);
    if (t === undefined) continue;
    // Without `always`, nginx adds it to 2xx/3xx responses only (the trap is kept, on purpose).
    const entry = always === undefined ? { value: t, success_only: true as const } : t;
    const before = add[name];
    if (before !== undefined) {
      ctx.diag.warn(d, `add_header ${name} appears twice: Portico sends the values as one header, comma-separated`);
      const joined = `${typeof before === 'string' ? before : before.value}, ${t}`;
      add[name] = typeof before === 'string' && typeof entry === 'string' ? joined : { value: joined, success_only: true };
    } else add[name] = entry;
  }
  const out: ResponseHeaders = {};
  if (Object.keys(add).length > 0) out.add = add;
  if (remove.length > 0) out.remove = remove;
  const expires = effectiveOne(scope, 'expires');
  if (expires && !filesExpires && !(expires.args.length === 1 && expires.args[0] === 'off')) {
    const text = expires.args.join(' ');
    const t = template(ctx, vs, expires, text, 'expires');
    if (t !== undefined) {
      if (!/\{[a-z_]/.test(t) && parseExpires(t) === undefined) ctx.diag.error(expires, `invalid value "${expires.args[expires.args.length - 1]}"`);
      else out.expires = t;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * A value written with a line break at its end ("x\\n" in quotes): nginx sends the bytes, so the
 * header line ends with a bare LF; a Portico head never carries one (docs/security.md, "Header
 * and request-line injection"). The trailing line break is left out, with a warning; one inside
 * the value is refused by the config's validation.
 */
export function trimLineEnd(value: string, d: Directive, ctx: AdaptContext): string {
  const trimmed = value.replace(/[\r\n]+$/, '');
  if (trimmed !== value) ctx.diag.warn(d, `${d.name} ${d.args[0]}: the line break at the end of the value is left out (a header line cannot hold one)`);
  return trimmed;
}
