/**
 * `limit_rate` and `limit_rate_after` (http, server, location, `if` in a location; the innermost
 * wins) -> the route's `limit_rate` (src/filters/limit-rate.ts). Either may hold variables
 * (read per request, as nginx since 1.17.0); a variable Portico cannot compute refuses the
 * config, as for any limit. `limit_rate 0` is no limit: nothing is emitted.
 */
import type { Scope } from '../scope.js';
import { effectiveOne } from '../scope.js';
import { template, type AdaptContext, type ValueScope } from './context.js';
import { parseSize } from './values.js';

export function emitLimitRate(scope: Scope, ctx: AdaptContext, vs: ValueScope): { rate: number | string; after: number | string } | undefined {
  const rate = sizeValue(scope, 'limit_rate', ctx, vs);
  if (rate === undefined || rate === 0) return undefined;
  return { rate, after: sizeValue(scope, 'limit_rate_after', ctx, vs) ?? 0 };
}

function sizeValue(scope: Scope, name: string, ctx: AdaptContext, vs: ValueScope): number | string | undefined {
  const d = effectiveOne(scope, name);
  if (d === undefined) return undefined;
  const text = d.args[0]!;
  if (!text.includes('$')) {
    const n = parseSize(text);
    if (n === undefined) ctx.diag.error(d, `invalid value "${text}"`);
    return n;
  }
  return template(ctx, vs, d, text, `"${name}"`, { refuse: true });
}
