/**
 * `admin`: the admin listener (src/admin/), on 127.0.0.1:2019 unless the config says
 * otherwise, as Caddy's admin endpoint. Loopback or a unix socket; any other address only
 * with `allow` naming who may reach it (an admin API can drain every server and reload the
 * config). `false` or 'off' turns it off, as PORTICO_ADMIN=off in the environment does.
 */
import { z } from 'zod';
import { isCidrList } from '../http/cidr.js';
import { parseAdminListen, isLoopback } from './admin-address.js';

export const ADMIN_DEFAULT_LISTEN = '127.0.0.1:2019';

export const admin = z
  .union([
    z.literal(false),
    z.literal('off'),
    z
      .object({
        listen: z
          .string()
          .superRefine((v, ctx) => {
            if (!parseAdminListen(v)) ctx.addIssue({ code: 'custom', message: `expected host:port (such as '127.0.0.1:2019') or 'unix:/path/to.sock', got '${v}'` });
          })
          .optional()
          .describe(`Address of the admin API and dashboard; default ${ADMIN_DEFAULT_LISTEN} (if busy, Portico warns once and serves without it)`),
        allow: z
          .array(z.string())
          .min(1)
          .superRefine((list, ctx) => {
            const bad = isCidrList(list);
            if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `expected CIDRs or IP addresses, got '${bad}'` });
          })
          .optional()
          .describe('Clients (CIDRs) that may use an admin listener on a non-loopback address; required for one'),
      })
      .strict()
      .superRefine((a, ctx) => {
        const addr = a.listen === undefined ? undefined : parseAdminListen(a.listen);
        if (addr?.kind === 'tcp' && !isLoopback(addr.host) && a.allow === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['listen'],
            message: `${a.listen} is not a loopback address: anyone who reaches it could drain servers and reload the config; give admin.allow (the CIDRs that may use it) or listen on 127.0.0.1 or a unix socket`,
          });
      }),
  ])
  .optional()
  .describe("The admin API, /metrics and the live dashboard: { listen, allow }, or false/'off'. Default: 127.0.0.1:2019");

export type AdminConfig = z.output<typeof admin>;
