/**
 * The rewrite module's directives of one block, in order (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html)
 * -> Portico rewrite steps: `rewrite` is a rule (same flags), `set` sets {var.NAME}, `break`
 * stops, `if` runs its own steps when its condition holds, `return` answers. Whatever follows a
 * `return` or a `break` in the same block never runs in nginx and is dropped.
 *
 * A block without `if` or `set` keeps its `return` as the route's handler (`redirect` for
 * 301/302/303/307/308 and URLs, `respond` otherwise), as it always was; in a block with an `if`
 * the `return` is a step, run in its place among the others, and the handler is what nginx's
 * content phase would do (proxy_pass, files). An `if` in a location whose block holds settings
 * (proxy_pass, add_header, root, limits...) carries them as its `route` (see route.ts):
 * nginx makes the block a location of its own, and the last `if` whose condition held is the one
 * whose settings serve the request ("if is evil", https://www.nginx.com/resources/wiki/start/topics/depth/ifisevil/).
 */
import type { Directive } from '../parser.js';
import { effectiveOne, own, type Scope } from '../scope.js';
import { template, type AdaptContext, type ValueScope } from './context.js';
import { checkRewriteRegex, rewriteRegexWarning } from '../../../rewrite-syntax.js';
import { conditionWords, isFileTest } from '../if-condition.js';
import { isBuiltin } from '../variables.js';

export interface RewriteRule {
  match: string;
  to: string;
  flag?: 'last' | 'break' | 'redirect' | 'permanent';
}

export type Terminal = { redirect: { to: string; status: number } } | { respond: { status: number; body?: string; headers?: Record<string, string>; close?: boolean } };

export type Condition = string | { value: string; op: string; with?: string };

export type Step = RewriteRule | { set: string; value: string } | { break: true } | Terminal | { if: Condition; then: Step[]; route?: Record<string, unknown> };

export interface Script {
  steps: Step[];
  /** The handler a `return` gives (a block without `if`). */
  terminal: Terminal | undefined;
  returnDirective: Directive | undefined;
}

export interface ScriptOptions {
  /** A location's `if`: its settings as a route, or undefined when they are the location's own. */
  variant?: (d: Directive, vs: ValueScope) => Record<string, unknown> | undefined;
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);
const FLAGS = new Set(['last', 'break', 'redirect', 'permanent']);
/** nginx's own variables `set` may change (NGX_HTTP_VAR_CHANGEABLE); the others are "duplicate". */
const CHANGEABLE_BUILTIN = new Set(['args', 'limit_rate']);

export function emitScript(scope: Scope, ctx: AdaptContext, vs: ValueScope, options: ScriptOptions = {}): Script {
  const script: Script = { steps: [], terminal: undefined, returnDirective: undefined };
  if (stepsMode(scope)) {
    script.steps = steps(scope.directives, scope, ctx, vs, options);
    return script;
  }
  const rules: RewriteRule[] = [];
  for (const d of scope.directives) {
    if (d.name === 'break') break;
    if (d.name === 'rewrite') {
      const rule = rewriteRule(d, ctx, vs);
      if (rule) {
        rules.push(rule);
        script.steps.push(rule);
      }
    } else if (d.name === 'return') {
      script.terminal = returnHandler(d, scope, ctx, vs);
      script.returnDirective = d;
      break;
    }
  }
  if (script.terminal) {
    // In nginx the `return` ends the same script the rewrites ran in: a rule without a flag
    // only changes $uri for it, and the route is not chosen again.
    for (const rule of rules) {
      if (rule.flag === undefined) rule.flag = 'break';
      else if (rule.flag === 'break')
        ctx.diag.warn(script.returnDirective!, `"return" after "rewrite ... break": when that rewrite matches nginx skips the return and serves the location's content; Portico returns`);
    }
  }
  return script;
}

/** A block with `if` or `set`: its `return` is a step in its place, not the handler. */
function stepsMode(scope: Scope): boolean {
  return own(scope, 'if').length > 0 || own(scope, 'set').length > 0;
}

/** Whether emitScript makes a `return` of this block the route's handler (a block without `if`, a `return` before any `break`). */
export function returnIsHandler(scope: Scope): boolean {
  if (stepsMode(scope)) return false;
  for (const d of scope.directives) {
    if (d.name === 'break') return false;
    if (d.name === 'return') return true;
  }
  return false;
}

/** The steps of a block (a server, a location or an `if`), in order. */
function steps(dirs: readonly Directive[], scope: Scope, ctx: AdaptContext, vs: ValueScope, options: ScriptOptions): Step[] {
  const out: Step[] = [];
  for (const d of dirs) {
    if (d.name === 'rewrite') {
      const rule = rewriteRule(d, ctx, vs);
      if (rule) out.push(rule);
    } else if (d.name === 'set') {
      const step = setStep(d, scope, ctx, vs);
      if (step) out.push(step);
    } else if (d.name === 'break') {
      out.push({ break: true });
      break;
    } else if (d.name === 'return') {
      const terminal = returnHandler(d, scope, ctx, vs);
      if (terminal) out.push(terminal);
      break;
    } else if (d.name === 'if') {
      const step = ifStep(d, scope, ctx, vs, options);
      if (step) out.push(step);
    }
  }
  return out;
}

function ifStep(d: Directive, scope: Scope, ctx: AdaptContext, vs: ValueScope, options: ScriptOptions): Step | undefined {
  const cond = condition(d, ctx, vs);
  if (cond === undefined) return undefined;
  const then = steps(d.block ?? [], scope, ctx, vs, options);
  const route = options.variant?.(d, vs);
  return route === undefined ? { if: cond, then } : { if: cond, then, route };
}

/**
 * An `if` condition (ngx_http_rewrite_if_condition) as a Portico condition; undefined (and an
 * error at the directive) when Portico cannot evaluate it: leaving the `if` out would run what
 * it guards for every request, or for none.
 */
function condition(d: Directive, ctx: AdaptContext, vs: ValueScope): Condition | undefined {
  const words = conditionWords(d);
  if (words === undefined || words.length === 0) return undefined; // reported by check.ts
  const [a, op, b] = words as [string, string | undefined, string | undefined];
  const value = (text: string) => template(ctx, vs, d, text, `"if ${d.args.join(' ')}"`, { refuse: true });
  if (isFileTest(a)) {
    const path = value(op ?? '');
    return path === undefined ? undefined : { value: path, op: a };
  }
  const left = value(a);
  if (left === undefined) return undefined;
  if (op === undefined) return left;
  if (op === '=' || op === '!=') {
    const right = value(b ?? '');
    return right === undefined ? undefined : { value: left, op, with: right };
  }
  const regex = b ?? '';
  const bad = checkRewriteRegex(op.endsWith('*') ? `(?i)${regex}` : regex);
  if (bad) {
    ctx.diag.error(d, `regular expression "${regex}" cannot be used: ${bad}`);
    return undefined;
  }
  const warning = rewriteRegexWarning(op.endsWith('*') ? `(?i)${regex}` : regex);
  if (warning) ctx.diag.warn(d, `if "${regex}" ${warning}`);
  // Named captures of the regex are known to the directives after the if.
  for (const m of regex.matchAll(/\(\?P?<([A-Za-z_]\w*)>/g)) vs.captures.add(m[1]!);
  return { value: left, op, with: regex };
}

/** `set $name value` (ngx_http_rewrite_set); the value is computed when the step runs. */
function setStep(d: Directive, scope: Scope, ctx: AdaptContext, vs: ValueScope): Step | undefined {
  const [name, value] = d.args as [string, string];
  if (!name.startsWith('$')) {
    ctx.diag.error(d, `invalid variable name "${name}"`);
    return undefined;
  }
  const bare = name.slice(1);
  if (bare === 'limit_rate') {
    // The response's rate (filters/limit-rate.ts), applied through the route's filter: a
    // server's steps run before any route is chosen, so there it could not be applied.
    if (scope.kind !== 'location') {
      ctx.diag.error(d, `"set $limit_rate" cannot be carried over in a server block: Portico applies a rate set in a location only`);
      return undefined;
    }
    const t = template(ctx, vs, d, value, `"set ${name}"`, { refuse: true });
    return t === undefined ? undefined : { set: bare, value: t };
  }
  if (CHANGEABLE_BUILTIN.has(bare)) {
    ctx.diag.error(d, `"set ${name}" cannot be carried over: Portico does not let "set" change nginx's $${bare}`);
    return undefined;
  }
  if (isBuiltin(bare)) {
    ctx.diag.error(d, `the duplicate "${bare}" variable`);
    return undefined;
  }
  // A value Portico cannot compute would make every `if` reading it decide otherwise: refused.
  const t = template(ctx, vs, d, value, `"set ${name}"`, { refuse: true });
  return t === undefined ? undefined : { set: bare, value: t };
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
  // The text is a template: `return 200 "$host"` answers the host. A variable Portico cannot
  // compute is sent empty (warned).
  const body = template(ctx, vs, d, second, `return ${status}`, { empty: true }) ?? second;
  // nginx labels the text with default_type (text/plain unless the config says otherwise).
  const type = effectiveOne(scope, 'default_type')?.args[0] ?? 'text/plain';
  return { respond: { status, body, headers: { 'Content-Type': type } } };
}
