/**
 * A route's `match`: conditions besides the path. Several routes may share one path when they
 * carry `match`; for that location the first route (in config order) whose conditions all
 * hold serves the request (see src/compile/location-table.ts).
 */
import { z } from 'zod';
import { isCidrList } from '../http/cidr.js';

export const routeMatch = z
  .object({
    remote_ip: z
      .array(z.string())
      .min(1)
      .superRefine((list, ctx) => {
        list.forEach((entry, i) => {
          if (isCidrList([entry]) !== undefined)
            ctx.addIssue({ code: 'custom', path: [i], message: `expected a CIDR, an IP address or 'private_ranges', got '${entry}'` });
        });
      })
      .describe("The client address is in one of these CIDRs (behind the server's trusted_proxies, the forwarded client address)"),
  })
  .strict()
  .describe('Conditions the request must meet besides the path; all must hold');

export type RouteMatchConfig = z.output<typeof routeMatch>;
