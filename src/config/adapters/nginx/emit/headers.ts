/**
 * `add_header NAME VALUE [always]` (https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header)
 * -> the route's `response_headers.add`. Like proxy_set_header, a level that has any add_header
 * drops every inherited one (resolved through `effective`). `proxy_hide_header` -> `remove`.
 */
import { effective, type Scope } from '../scope.js';
import { template, type AdaptContext, type ValueScope } from './context.js';

export function responseHeaders(
  scope: Scope,
  hide: readonly string[],
  ctx: AdaptContext,
  vs: ValueScope,
): { add?: Record<string, string | { value: string; success_only: true }>; remove?: string[] } | undefined {
  const add: Record<string, string | { value: string; success_only: true }> = {};
  for (const d of effective(scope, 'add_header')) {
    const [name, value, always] = d.args as [string, string, string | undefined];
    if (always !== undefined && always !== 'always') {
      ctx.diag.error(d, `invalid parameter "${always}"`);
      continue;
    }
    if (value === '') continue; // nginx adds nothing for an empty value
    if (value === '$upstream_cache_status') continue; // the route's cache.status_header (emit/cache.ts)
    const t = template(ctx, vs, d, value, `add_header ${name}`);
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
  const out: { add?: Record<string, string | { value: string; success_only: true }>; remove?: string[] } = {};
  if (Object.keys(add).length > 0) out.add = add;
  if (hide.length > 0) out.remove = [...hide];
  return Object.keys(out).length > 0 ? out : undefined;
}
