/**
 * A route's `match`: conditions besides the path. Several routes may share one path when they
 * carry `match`; for that location the first route (in config order) whose conditions all
 * hold serves the request (see src/compile/location-table.ts).
 */
import { z } from 'zod';
import { isCidrList } from '../http/cidr.js';

const cidrList = (what: string) =>
  z
    .array(z.string())
    .min(1)
    .superRefine((list, ctx) => {
      list.forEach((entry, i) => {
        if (isCidrList([entry]) !== undefined)
          ctx.addIssue({ code: 'custom', path: [i], message: `expected a CIDR, an IP address or 'private_ranges', got '${entry}'` });
      });
    })
    .describe(what);

export const routeMatch = z
  .object({
    remote_ip: cidrList("The client address is in one of these CIDRs (behind the server's trusted_proxies, the forwarded client address)").optional(),
    not_remote_ip: cidrList("The client address is in none of these CIDRs (Caddy's `not remote_ip`)").optional(),
  })
  .strict()
  .refine((m) => m.remote_ip !== undefined || m.not_remote_ip !== undefined, 'expected remote_ip or not_remote_ip')
  .describe('Conditions the request must meet besides the path; all must hold');

export type RouteMatchConfig = z.output<typeof routeMatch>;
