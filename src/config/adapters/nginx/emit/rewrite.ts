/**
 * The rewrite module's directives of one block, in order (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html):
 * `rewrite` becomes a Portico `rewrite` rule (same flags), `return` becomes the route's
 * handler (`redirect` for 301/302/303/307/308 and URLs, `respond` otherwise), `break` ends
 * the list. Whatever follows a `return` or a `break` never runs in nginx and is dropped.
 * `if` and `set` are not supported (warned by the registry).
 */
import type { Directive } from '../parser.js';
import { effectiveOne, type Scope } from '../scope.js';
import { template, type AdaptContext, type ValueScope } from './context.js';
import { checkRewriteRegex, rewriteRegexWarning } from '../../../rewrite-syntax.js';

export interface RewriteRule {
  match: string;
  to: string;
  flag?: 'last' | 'break' | 'redirect' | 'permanent';
}

export type Terminal = { redirect: { to: string; status: number } } | { respond: { status: number; body?: string; headers?: Record<string, string>; close?: boolean } };

export interface Script {
  rules: RewriteRule[];
  /** The handler a `return` gives. */
  terminal: Terminal | undefined;
  returnDirective: Directive | undefined;
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);
const FLAGS = new Set(['last', 'break', 'redirect', 'permanent']);

export function emitScript(scope: Scope, ctx: AdaptContext, vs: ValueScope): Script {
  const script: Script = { rules: [], terminal: undefined, returnDirective: undefined };
  for (const d of scope.directives) {
    if (d.name === 'break') break;
    if (d.name === 'rewrite') {
      const rule = rewriteRule(d, ctx, vs);
      if (rule) script.rules.push(rule);
    } else if (d.name === 'return') {
      script.terminal = returnHandler(d, scope, ctx, vs);
      script.returnDirective = d;
      break;
    }
  }
  if (script.terminal) {
    // In nginx the `return` ends the same script the rewrites ran in: a rule without a flag
    // only changes $uri for it, and the route is not chosen again.
    for (const rule of script.rules) {
      if (rule.flag === undefined) rule.flag = 'break';
      else if (rule.flag === 'break')
        ctx.diag.warn(script.returnDirective!, `"return" after "rewrite ... break": when that rewrite matches nginx skips the return and serves the location's content; Portico returns`);
    }
  }
  return script;
}

function rewriteRule(d: Directive, ctx: AdaptContext, vs: ValueScope): RewriteRule | undefined {
  const [regex, replacement, flag] = d.args as [string, string, string | undefined];
  if (flag !== undefined && !FLAGS.has(flag)) {
    ctx.diag.error(d, `invalid parameter "${flag}"`);
    return undefined;
  }
  const bad = checkRewriteRegex(regex);
  if (bad) {
    ctx.diag.error(d, `regular expression "${regex}" cannot be used: ${bad}`);
    return undefined;
  }
  const warning = rewriteRegexWarning(regex);
  if (warning) ctx.diag.warn(d, `rewrite "${regex}" ${warning}`);
  const captures = new Set([...vs.captures, ...[...regex.matchAll(/\(\?P?<([A-Za-z_]\w*)>/g)].map((m) => m[1]!)]);
  const to = template(ctx, { ...vs, captures }, d, replacement, 'rewrite');
  if (to === undefined) return undefined;
  return flag === undefined ? { match: regex, to } : { match: regex, to, flag: flag as RewriteRule['flag'] };
}

/** `return code [text|URL]` or `return URL` (ngx_http_rewrite_return). */
function returnHandler(d: Directive, scope: Scope, ctx: AdaptContext, vs: ValueScope): Terminal | undefined {
  const [first, second] = d.args as [string, string | undefined];
  if (d.args.length === 1 && /^(https?:\/\/|\$scheme)/.test(first)) {
    const to = template(ctx, vs, d, first, 'return');
    return to === undefined ? undefined : { redirect: { to, status: 302 } };
  }
  if (!/^\d{1,3}$/.test(first)) {
    ctx.diag.error(d, `invalid return code "${first}"`);
    return undefined;
  }
  const status = Number(first);
  if (status === 444) return { respond: { status: 444, close: true } }; // nginx closes the connection unanswered
  if (status < 100 || status > 599) {
    ctx.diag.warn(d, `return ${status}: Portico sends statuses 100 to 599 only; left out`);
    return undefined;
  }
  if (REDIRECT_CODES.has(status) && second !== undefined) {
    const to = template(ctx, vs, d, second, 'return');
    return to === undefined ? undefined : { redirect: { to, status } };
  }
  if (second === undefined || second === '') return { respond: { status } };
  if (second.includes('$')) {
    ctx.diag.warn(d, `return ${status} "${second}": Portico sends a fixed body; the variables are sent as written`);
  }
  // nginx labels the text with default_type (text/plain unless the config says otherwise).
  const type = effectiveOne(scope, 'default_type')?.args[0] ?? 'text/plain';
  return { respond: { status, body: second, headers: { 'Content-Type': type } } };
}
