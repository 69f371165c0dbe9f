/** Schema pieces for the config's units: sizes and request rates (durations: duration-schema.ts). */
import { z } from 'zod';
import { isSize, parseSize } from './size.js';

export { duration } from './duration-schema.js';

const sizeInput = () => z.union([z.string(), z.number().int().nonnegative()]);

function checkSize(v: string | number, ctx: z.RefinementCtx): void {
  if (typeof v === 'string' && !isSize(v)) ctx.addIssue({ code: 'custom', message: `expected a size such as 64KiB, 10MiB or 1g, got '${v}'` });
}

/** Bytes; "64KiB", "10m", "1g" (binary, as nginx) or a number of bytes. */
export const size = (fallback: string) =>
  sizeInput()
    .default(fallback)
    .superRefine(checkSize)
    .transform((v) => parseSize(v))
    .describe(`Size in bytes, or "64KiB", "10MiB", "1g"; default ${fallback}`);

export const optionalSize = () =>
  sizeInput()
    .superRefine(checkSize)
    .transform((v) => parseSize(v))
    .optional();

const RATE = /^(\d+(?:\.\d+)?)\s*r\/(s|m)$/;

/** nginx's rate syntax: "10r/s", "30r/m"; the output is requests per second. */
export const rate = z
  .string()
  .superRefine((v, ctx) => {
    const m = RATE.exec(v);
    if (!m || Number(m[1]) <= 0) ctx.addIssue({ code: 'custom', message: `expected a rate such as 10r/s or 30r/m, got '${v}'` });
  })
  .transform((v) => {
    const m = RATE.exec(v)!;
    return m[2] === 's' ? Number(m[1]) : Number(m[1]) / 60;
  })
  .describe('Requests per second ("10r/s") or per minute ("30r/m")');
