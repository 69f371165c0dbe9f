/**
 * Terminal directives that answer by themselves: `respond` (https://caddyserver.com/docs/caddyfile/directives/respond),
 * `redir` (.../redir), `error` (.../error) and `abort`.
 */
import type { Directive } from '../parser.js';
import type { Token } from '../lexer.js';
import { placeholders, type CaddyContext } from '../context.js';

/** Filled in from the error by ./errors.ts: kept as written here. */
const ERROR_PLACEHOLDERS = new Map(['err', 'http.error'].flatMap((p) => ['status_code', 'status_text', 'message'].map((k) => [`${p}.${k}`, `{${p}.${k}}`] as [string, string])));

const REDIRECT_CODES: Record<string, number> = { permanent: 301, temporary: 302 };

/** `respond [<status>|<body> [<status>]] { body <text>; close }` */
export function respond(ctx: CaddyContext, d: Directive, args: Token[]): Record<string, unknown> | undefined {
  let status = 200;
  let body: string | undefined;
  const [a, b] = args.map((t) => t.text);
  if (a !== undefined && /^\d{3}$/.test(a) && !args[0]!.quoted) status = Number(a);
  else if (a !== undefined) {
    body = a;
    if (b !== undefined) {
      if (!/^\d{3}$/.test(b)) {
        ctx.diag.error(d, `respond: invalid status code "${b}"`);
        return undefined;
      }
      status = Number(b);
    }
  }
  for (const sub of d.block ?? []) {
    if (sub.name === 'body') body = sub.args.map((t) => t.text).join(' ');
    else if (sub.name === 'close') ctx.diag.warn(sub, 'respond close: Portico keeps the connection open');
    else ctx.diag.error(sub, `respond: unrecognized subdirective ${sub.name}`);
  }
  if (body !== undefined && body.includes('{')) {
    const converted = placeholders(ctx, d, body, ctx.inErrors ? ERROR_PLACEHOLDERS : undefined);
    if (converted !== body) ctx.diag.warn(d, 'respond: Portico sends a fixed body; its placeholders are sent as written');
  }
  return { respond: body === undefined || body === '' ? { status } : { status, body } };
}

/** `redir [<to>] [<code>]`: code permanent/temporary/html or a 3xx number; 302 by default. */
export function redir(ctx: CaddyContext, d: Directive, args: Token[]): Record<string, unknown> | undefined {
  const [to, codeText] = args.map((t) => t.text);
  if (to === undefined) {
    ctx.diag.error(d, 'redir: a target is required');
    return undefined;
  }
  let status = 302;
  if (codeText !== undefined) {
    if (codeText === 'html') ctx.diag.warn(d, 'redir html: Portico redirects with a 302 and a Location header, not an HTML page');
    else if (REDIRECT_CODES[codeText]) status = REDIRECT_CODES[codeText]!;
    else if (/^3\d\d$/.test(codeText)) status = Number(codeText);
    else {
      ctx.diag.error(d, `redir: invalid status code "${codeText}"`);
      return undefined;
    }
  }
  if (![301, 302, 303, 307, 308].includes(status)) {
    ctx.diag.warn(d, `redir ${status}: Portico redirects with 301, 302, 303, 307 or 308; using 302`);
    status = 302;
  }
  const target = placeholders(ctx, d, to);
  return target === undefined ? undefined : { redirect: { to: target, status } };
}

/** `error [<message>] <status>` and `abort`: an empty response with that status (Caddy's default error handling). */
export function errorResponse(ctx: CaddyContext, d: Directive, args: Token[]): Record<string, unknown> {
  if (d.name === 'abort') return { respond: { status: 444, close: true } }; // closes the connection unanswered
  const last = args[args.length - 1]?.text;
  const status = last !== undefined && /^\d{3}$/.test(last) ? Number(last) : 500;
  return { respond: { status } };
}
