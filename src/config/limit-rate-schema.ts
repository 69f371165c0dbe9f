/**
 * `limit_rate`: a route's responses leave at no more than `rate` bytes per second once `after`
 * bytes have gone (nginx limit_rate and limit_rate_after; the filter is
 * src/filters/limit-rate.ts). Either may be a template read per request (nginx takes variables
 * there): a value that is not a size then means 0, as in nginx. A rewrite step
 * `set: limit_rate` sets the rate of the request (nginx `set $limit_rate`).
 */
import { z } from 'zod';
import { isSize, parseSize } from './size.js';

/** Bytes, or a template (text with a placeholder) read per request. */
const sizeOrTemplate = z
  .union([z.number().int().nonnegative(), z.string()])
  .superRefine((v, ctx) => {
    if (typeof v === 'string' && !v.includes('{') && !isSize(v)) ctx.addIssue({ code: 'custom', message: `expected a size such as 12k or 1m, or a template, got '${v}'` });
  })
  .transform((v) => (typeof v === 'string' && !v.includes('{') ? parseSize(v) : v));

export const limitRate = z
  .object({
    rate: sizeOrTemplate.describe('Bytes per second, "12k", or a template ("{arg.rate}"); 0: no limit'),
    after: sizeOrTemplate.default(0).describe('Bytes sent before the limit applies (nginx limit_rate_after); default 0'),
  })
  .strict()
  .describe("Response bandwidth per request (nginx limit_rate, limit_rate_after); default none");

export type LimitRateConfig = z.output<typeof limitRate>;

/** Whether rewrite steps hold a `set: limit_rate` (inside `if`s too). */
export function setsLimitRate(steps: readonly unknown[] | undefined): boolean {
  return (steps ?? []).some((s) => {
    const step = s as { set?: string; then?: unknown[] };
    return step.set === 'limit_rate' || (Array.isArray(step.then) && setsLimitRate(step.then));
  });
}
