/**
 * The logs in the config:
 *   log_formats: { NAME: "<template>" | { template, escape } }     nginx log_format
 *   access_log:  false | { path, format, buffer, flush, if } | [ ... ]  top level, per server, per route
 *   error_log:   "stderr" | a file path                           nginx error_log's file (level: log_level)
 *   request_id:  { header, upstream, response }                  X-Request-ID
 * `format` is combined (nginx's), json (one object per line), a log_formats name, or a template
 * of nginx variables ("$remote_addr $status $request_time"). A route without `access_log`
 * logs where its server does, a server where the top level does.
 */
import { z } from 'zod';
import { duration } from './duration-schema.js';
import { optionalSize } from './zod-units.js';
import { unknownVariables } from './log-variables.js';

export const LOG_ESCAPES = ['default', 'json', 'none'] as const;

const logFormat = z.union([
  z.string().min(1),
  z
    .object({
      template: z.string().min(1),
      escape: z.enum(LOG_ESCAPES).default('default').describe("How variable values are escaped: default (nginx's \\xHH), json, none"),
    })
    .strict(),
]);

export const logFormats = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a name of letters, digits and "_"'), logFormat)
  .optional()
  .describe('Named access-log formats (nginx log_format): a template of nginx variables, or { template, escape }');

const accessLogSpec = z
  .object({
    path: z.string().min(1).optional().describe("'stdout', 'stderr' or a file path (relative: to the working directory); default stdout"),
    output: z.string().min(1).optional().describe('The same as path (its former name)'),
    format: z
      .string()
      .min(1)
      .default('combined')
      .describe("combined (nginx's), json, a name from log_formats, or a template of nginx variables such as '$remote_addr $status $request_time'"),
    escape: z.enum(LOG_ESCAPES).optional().describe('For a template written here: how values are escaped (default, json, none)'),
    buffer: optionalSize().describe('Lines are held until this many bytes wait (nginx buffer=); at most 64KiB'),
    flush: duration('1s').describe('With buffer: held lines are written at least this often (nginx flush=)'),
    if: z.string().min(1).optional().describe("A template (nginx if=): the line is written unless it comes out empty or '0', e.g. '$loggable' for a map"),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.path !== undefined && s.output !== undefined) ctx.addIssue({ code: 'custom', path: ['output'], message: 'give path or output (the same thing), not both' });
    if (s.buffer !== undefined && (s.buffer < 1 || s.buffer > 65536)) ctx.addIssue({ code: 'custom', path: ['buffer'], message: 'expected a buffer between 1 byte and 64KiB' });
  })
  .transform(({ output, path, ...rest }) => ({ ...rest, path: path ?? output ?? 'stdout' }));

export const accessLogSetting = z.union([z.literal(false), accessLogSpec, z.array(accessLogSpec).min(1)]);

export type AccessLogSpec = z.output<typeof accessLogSpec>;
export type AccessLogSetting = z.output<typeof accessLogSetting>;
export type LogFormatsConfig = z.output<typeof logFormats>;

export const errorLog = z
  .string()
  .min(1)
  .default('stderr')
  .describe("Where the error log goes: 'stderr' or a file path (nginx error_log's file; its level is log_level)");

export const requestId = z
  .object({
    header: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name')
      .default('X-Request-ID')
      .describe('The header a trusted proxy sends its id in, and the one Portico sends'),
    upstream: z.boolean().default(false).describe("Send the id to the upstream in that header (the client's own is replaced)"),
    response: z.boolean().default(false).describe('Return the id to the client in that header'),
  })
  .strict()
  .default({ header: 'X-Request-ID', upstream: false, response: false })
  .describe("Request ids: taken from a trusted proxy's header or made (32 hex digits), in both logs ($request_id); passed on and returned when asked");

/**
 * Every access log's format names a known format or is a template Portico can fill, and its
 * `if` too; checked where `log_formats` and `maps` are known (the config's superRefine).
 */
export function checkAccessLogs(
  cfg: { log_formats?: unknown; maps?: unknown; access_log?: unknown; servers?: unknown },
  ctx: z.RefinementCtx,
): void {
  const formats = (cfg.log_formats ?? {}) as Record<string, string | { template: string }>;
  const maps = new Map(Object.keys((cfg.maps ?? {}) as object).map((k) => [k, true]));
  for (const [name, f] of Object.entries(formats)) {
    const template = typeof f === 'string' ? f : f?.template;
    if (typeof template !== 'string') continue;
    const unknown = unknownVariables(template, maps);
    if (unknown.length > 0) ctx.addIssue({ code: 'custom', path: ['log_formats', name], message: unknownMessage(unknown) });
  }
  const check = (setting: unknown, path: PropertyKey[]): void => {
    const list = Array.isArray(setting) ? setting : setting && typeof setting === 'object' ? [setting] : [];
    list.forEach((spec: { format?: unknown; if?: unknown }, i) => {
      const at = Array.isArray(setting) ? [...path, i] : path;
      const format = spec?.format;
      if (typeof format === 'string' && format !== 'combined' && format !== 'json' && !(format in formats)) {
        if (!format.includes('$'))
          ctx.addIssue({ code: 'custom', path: [...at, 'format'], message: `expected combined, json, a name from log_formats or a template with $variables, got '${format}'` });
        else {
          const unknown = unknownVariables(format, maps);
          if (unknown.length > 0) ctx.addIssue({ code: 'custom', path: [...at, 'format'], message: unknownMessage(unknown) });
        }
      }
      if (typeof spec?.if === 'string') {
        const unknown = unknownVariables(spec.if, maps);
        if (unknown.length > 0) ctx.addIssue({ code: 'custom', path: [...at, 'if'], message: unknownMessage(unknown) });
      }
    });
  };
  check(cfg.access_log, ['access_log']);
  const servers = Array.isArray(cfg.servers) ? cfg.servers : [];
  servers.forEach((s: { access_log?: unknown; routes?: unknown }, si) => {
    check(s?.access_log, ['servers', si, 'access_log']);
    (Array.isArray(s?.routes) ? s.routes : []).forEach((r: { access_log?: unknown }, ri: number) => check(r?.access_log, ['servers', si, 'routes', ri, 'access_log']));
  });
}

function unknownMessage(names: string[]): string {
  return `unknown log variable${names.length > 1 ? 's' : ''} ${names.map((n) => `$${n}`).join(', ')} (nginx's names: $remote_addr, $status, $request_time, $http_NAME, $upstream_addr, $request_id...; or a map's name)`;
}
