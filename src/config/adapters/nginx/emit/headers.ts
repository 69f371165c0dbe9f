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
): { add?: Record<string, string>; remove?: string[] } | undefined {
  const add: Record<string, string> = {};
  for (const d of effective(scope, 'add_header')) {
    const [name, value, always] = d.args as [string, string, string | undefined];
    if (always !== undefined && always !== 'always') {
      ctx.diag.error(d, `invalid parameter "${always}"`);
      continue;
    }
    if (value === '') continue; // nginx adds nothing for an empty value
    if (always === undefined) {
      ctx.diag.warn(d, `add_header ${name} without "always": nginx adds it to 2xx and 3xx responses only, Portico to every response`);
    }
    const t = template(ctx, vs, d, value, `add_header ${name}`);
    if (t === undefined) continue;
    if (name in add) {
      ctx.diag.warn(d, `add_header ${name} appears twice: Portico sends the values as one header, comma-separated`);
      add[name] = `${add[name]}, ${t}`;
    } else add[name] = t;
  }
  const out: { add?: Record<string, string>; remove?: string[] } = {};
  if (Object.keys(add).length > 0) out.add = add;
  if (hide.length > 0) out.remove = [...hide];
  return Object.keys(out).length > 0 ? out : undefined;
}
