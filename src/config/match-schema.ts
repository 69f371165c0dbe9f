/**
 * A route's `match`: conditions besides the path. Several routes may share one path when they
 * carry `match`; for that location the first route (in config order) whose conditions all
 * hold serves the request (see src/compile/location-table.ts).
 *
 * The conditions are Caddy's request matchers (https://caddyserver.com/docs/caddyfile/matchers),
 * with Caddy's semantics, so a Caddyfile's matchers carry over one to one: within one condition
 * the values are alternatives (any holds), different conditions must all hold, `not` holds when
 * none of its sets does, and `any` (a CEL `||`) when one of its sets does. Regexes go through
 * src/regex/safe-regex.ts like every other regex that sees request data.
 */
import { z } from 'zod';
import { isCidrList } from '../http/cidr.js';
import { regexProblem } from '../regex/safe-regex.js';
import { parseLocation } from './location-syntax.js';

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

/** Caddy's protocol matcher values (modules/caddyhttp/matchers.go, MatchProtocol). */
export const PROTOCOLS = ['http', 'https', 'grpc', 'http/1.0', 'http/1.0+', 'http/1.1', 'http/1.1+', 'http/2', 'http/2+', 'http/3', 'http/3+'] as const;

/** A match regex: JavaScript syntax, with Go's leading "(?i)" for a case-insensitive one. */
export function matchRegex(source: string): { source: string; ignoreCase: boolean } {
  return source.startsWith('(?i)') ? { source: source.slice(4), ignoreCase: true } : { source, ignoreCase: false };
}

/** A regex that must pass the ReDoS policy. */
const safeRegex = z.string().superRefine((text, ctx) => {
  const { source, ignoreCase } = matchRegex(text);
  const problem = regexProblem(source, ignoreCase);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const fieldName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected a header field name');

export interface RouteMatchInput {
  remote_ip?: string[];
  not_remote_ip?: string[];
  method?: string[];
  host?: string[];
  protocol?: (typeof PROTOCOLS)[number];
  header?: Record<string, string[] | null>;
  header_regexp?: Record<string, string>;
  query?: Record<string, string[]>;
  path?: string[];
  vars?: Record<string, string[]>;
  vars_regexp?: Record<string, string>;
  not?: RouteMatchInput[];
  any?: RouteMatchInput[];
  all?: RouteMatchInput[];
}

const KEYS = ['remote_ip', 'not_remote_ip', 'method', 'host', 'protocol', 'header', 'header_regexp', 'query', 'path', 'vars', 'vars_regexp', 'not', 'any', 'all'] as const;

export const routeMatch: z.ZodType<RouteMatchInput, RouteMatchInput> = z.lazy(() =>
  z
    .object({
      remote_ip: cidrList("The client address is in one of these CIDRs (behind the server's trusted_proxies, the forwarded client address)").optional(),
      not_remote_ip: cidrList("The client address is in none of these CIDRs (Caddy's `not remote_ip`)").optional(),
      method: z.array(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected a method')).min(1).optional().describe('The request method is one of these (compared as written, as Caddy does)'),
      host: z
        .array(z.string().min(1).transform((h) => h.toLowerCase()))
        .min(1)
        .optional()
        .describe('The Host (without port) is one of these, ignoring case; "*" stands for one label ("*.example.com")'),
      protocol: z.enum(PROTOCOLS).optional().describe('http or https (the connection), grpc (a Content-Type of application/grpc...), or an HTTP version such as http/2 or http/1.1+'),
      header: z
        .record(fieldName, z.array(z.string()).nullable())
        .optional()
        .describe('Each field has one of these values ("*" any, "x*" prefix, "*x" suffix, "*x*" contains); [] present with any value; null absent'),
      header_regexp: z.record(fieldName, safeRegex).optional().describe('Each field has a value this regex matches'),
      query: z
        .record(z.string(), z.array(z.string()).min(1))
        .optional()
        .describe('Each key is in the query with one of these values ("*": any); {} matches a request without a query. A query Go would not parse (";", a bad %-escape) matches nothing'),
      path: z
        .array(
          z.string().superRefine((v, ctx) => {
            const spec = parseLocation(v);
            if (typeof spec === 'string') ctx.addIssue({ code: 'custom', message: spec });
          }),
        )
        .min(1)
        .optional()
        .describe('The path matches one of these, written as route paths ("/prefix", "= /exact", "~* regex")'),
      vars: z.record(z.string(), z.array(z.string()).min(1)).optional().describe('Each placeholder ("{header.X}", "{path}", ...) expands to one of these values'),
      vars_regexp: z.record(z.string(), safeRegex).optional().describe('Each placeholder expands to a value this regex matches'),
      not: z.array(routeMatch).min(1).optional().describe('None of these sets of conditions holds'),
      any: z.array(routeMatch).min(1).optional().describe('At least one of these sets of conditions holds'),
      all: z.array(routeMatch).min(1).optional().describe('Every one of these sets of conditions holds'),
    })
    .strict()
    .refine((m) => KEYS.some((k) => m[k] !== undefined), `expected at least one of ${KEYS.join(', ')}`),
).describe('Conditions the request must meet besides the path; all must hold');

export type RouteMatchConfig = RouteMatchInput;
