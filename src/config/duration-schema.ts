/** The config's duration field: "500ms", "30s", "2m" or a number of seconds, as milliseconds. */
import { z } from 'zod';
import { isDuration, parseDuration } from './duration.js';

export const duration = (fallback: string) =>
  z
    .union([z.string(), z.number().nonnegative()])
    .default(fallback)
    .superRefine((v, ctx) => {
      if (typeof v === 'string' && !isDuration(v))
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 500ms or 2m, got '${v}'` });
    })
    .transform((v) => parseDuration(v))
    .describe(`Duration ("500ms", "30s", "2m") or seconds; default ${fallback}`);

/** A duration without a default (an override: absent means "the one from elsewhere"). */
export const optionalDuration = () =>
  z
    .union([z.string(), z.number().nonnegative()])
    .superRefine((v, ctx) => {
      if (typeof v === 'string' && !isDuration(v))
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 500ms or 2m, got '${v}'` });
    })
    .transform((v) => parseDuration(v))
    .optional();
