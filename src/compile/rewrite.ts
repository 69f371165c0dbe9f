/**
 * The rewrite steps of a server or route, compiled once, run with nginx's rewrite module
 * semantics (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html): `rewrite`, `set`,
 * `if`, `return` and `break` run in the order written, as nginx's script engine runs them
 * (ngx_http_rewrite_handler):
 *  - a rule runs against the normalized path; its capture groups feed {re.N};
 *  - a target starting with "http://", "https://" or "{scheme}" is a redirect (302, or 301 with
 *    `permanent`), as are `redirect` and `permanent` with a relative target;
 *  - a "?" in the target sets the query, and the old query is appended after "&"; a target
 *    ending in "?" drops the old query;
 *  - `last` stops and has the route chosen again, a rule's `break` stops and keeps the route,
 *    no flag goes on with the next step (and a changed path is routed again at the end);
 *  - `set` gives {var.NAME} a value for the rest of the request (`limit_rate`: the response's
 *    rate, {limit_rate}: filters/limit-rate.ts);
 *  - `if` runs its steps when its condition holds, then goes on after it (nginx compiles the
 *    block inline); an `if` with a `route` also makes that route's settings the ones that serve
 *    the request (ngx_http_script_if_code sets r->loc_conf: the last `if` that held wins);
 *  - `break` stops, and a path changed before it is no longer routed again
 *    (ngx_http_script_break_code clears uri_changed);
 *  - `respond` and `redirect` answer (`return`): a server's at once, a route's once its chain
 *    has run its guards (step-answers.ts), through the response filters of the settings in
 *    force.
 */
import { statSync } from 'node:fs';
import type { ConditionConfig, RewriteRuleConfig, RewriteStepConfig } from '../config/schema.js';
import { compileRewriteRegex } from '../config/rewrite-syntax.js';
import { parseSize } from '../config/size.js';
import { compileTemplate, type Template } from '../http/template.js';
import { encodePath } from '../http/normalize-path.js';
import { uriFromBytes } from '../http/escape.js';
import type { Exchange, Variant } from '../http/exchange.js';
import type { ResponseFilter } from '../filters/filter.js';
import { compileRespond } from '../handlers/respond.js';
import { closeHandler } from '../handlers/close.js';
import { send } from '../http/send.js';

export type RewriteResult =
  | { kind: 'none' }
  /** The path changed; `again` asks for the route to be chosen again. */
  | { kind: 'changed'; again: boolean }
  | { kind: 'redirect'; status: 301 | 302; location: string }
  /** A `return`: the response is being sent. */
  | { kind: 'answered' };

export type Rewrites = (ex: Exchange) => RewriteResult;

export interface RewriteOptions {
  /**
   * A server's steps: a `return` there answers at once, through the filters of the route the
   * request would reach (nginx's server-level add_header, which its locations inherit).
   */
  filterFor?: (ex: Exchange) => ResponseFilter | null;
  /**
   * A route's steps: a `return` does not answer at once but when the route's chain reaches its
   * handler (ex.answer, step-answers.ts), after the route's access checks and limits, through
   * the filters dispatch wrapped around the writer for the route (or its `if` variant).
   */
  deferAnswers?: boolean;
  /** Compiles an `if` step's `route` (route-chain.ts: the same route compiled with those settings). */
  variant?: (cfg: NonNullable<Extract<RewriteStepConfig, { if: unknown }>['route']>) => Variant;
}

const NONE: RewriteResult = { kind: 'none' };
const ANSWERED: RewriteResult = { kind: 'answered' };

/** What one step did: go on, stop here (break), or end with a result. */
const GO_ON = 0;
const STOP = 1;
/** A deferred `return`: the steps end, and a path changed before it is not routed again. */
const STOP_KEEPING_PATH = 2;
type Outcome = typeof GO_ON | typeof STOP | typeof STOP_KEEPING_PATH | RewriteResult;

/** Per run: whether a rule changed the path (nginx's uri_changed). */
interface Run {
  changed: boolean;
}

type Step = (ex: Exchange, run: Run) => Outcome;

export function compileRewrites(steps: readonly RewriteStepConfig[] | undefined, options: RewriteOptions = {}): Rewrites | undefined {
  if (!steps || steps.length === 0) return undefined;
  const program = compileSteps(steps, options);
  const resets = hasVariant(steps);
  const resetsAnswer = options.deferAnswers === true;
  return (ex) => {
    // A route chosen again (after `last`) starts with its own settings.
    if (resets) ex.variant = null;
    const run: Run = { changed: false };
    if (resetsAnswer) ex.answer = null;
    const out = program(ex, run);
    if (typeof out === 'object') return out;
    if (!run.changed) return NONE;
    return out === GO_ON ? { kind: 'changed', again: true } : { kind: 'changed', again: false };
  };
}

function hasVariant(steps: readonly RewriteStepConfig[]): boolean {
  return steps.some((s) => 'if' in s && (s.route !== undefined || hasVariant(s.then)));
}

function compileSteps(steps: readonly RewriteStepConfig[], options: RewriteOptions): Step {
  const compiled = steps.map((s) => compileStep(s, options));
  return (ex, run) => {
    for (const step of compiled) {
      const out = step(ex, run);
      if (out !== GO_ON) return out;
    }
    return GO_ON;
  };
}

function compileStep(step: RewriteStepConfig, options: RewriteOptions): Step {
  if ('match' in step) return compileRule(step);
  if ('set' in step) {
    const name = step.set;
    const value = compileTemplate(step.value);
    if (name === 'limit_rate') {
      // nginx's $limit_rate takes a size; other text leaves it as it was (ngx_http_variable_request_set_size).
      return (ex) => {
        const n = parseSize(value(ex));
        if (Number.isFinite(n)) ex.limitRate = n;
        return GO_ON;
      };
    }
    return (ex) => {
      (ex.vars ??= new Map()).set(name, value(ex));
      return GO_ON;
    };
  }
  if ('break' in step) {
    return (ex, run) => {
      run.changed = false;
      return STOP;
    };
  }
  if ('respond' in step || 'redirect' in step) {
    const answer = compileAnswer(step);
    if (options.deferAnswers) {
      return (ex) => {
        ex.answer = answer;
        return STOP_KEEPING_PATH;
      };
    }
    const filterFor = options.filterFor;
    return (ex) => {
      if (filterFor !== undefined) useFilter(ex, filterFor(ex));
      answer(ex);
      return ANSWERED;
    };
  }
  const test = compileCondition(step.if);
  const then = compileSteps(step.then, options);
  const variant = step.route === undefined ? undefined : options.variant?.(step.route);
  if (step.route !== undefined && variant === undefined) throw new Error('an if with route settings is only allowed in a route');
  return (ex, run) => {
    if (!test(ex)) return GO_ON;
    if (variant !== undefined) ex.variant = variant;
    return then(ex, run);
  };
}

/** A `return`'s answer, through the exchange's writer (and whatever filters wrap it). */
function compileAnswer(step: Extract<RewriteStepConfig, { respond: unknown } | { redirect: unknown }>): (ex: Exchange) => void {
  if ('respond' in step) {
    if (step.respond.close) {
      const close = closeHandler();
      return (ex) => close.handle(ex);
    }
    return compileRespond(step.respond);
  }
  const location = compileTemplate(step.redirect.to, { context: 'location' });
  const status = step.redirect.status;
  return (ex) => send(ex, status, ['Location', location(ex), 'Content-Length', '0'], '');
}

/** Wraps the exchange's writer in `filter` (a server's own answer, before any route was chosen). */
export function useFilter(ex: Exchange, filter: ResponseFilter | null): void {
  if (filter !== null) ex.writer = filter(ex.writer, ex);
}

/** nginx's `if` conditions (ngx_http_rewrite_if_condition). */
export function compileCondition(cond: ConditionConfig): (ex: Exchange) => boolean {
  if (typeof cond === 'string') {
    const value = compileTemplate(cond);
    return (ex) => truthy(value(ex));
  }
  const value = compileTemplate(cond.value);
  switch (cond.op) {
    case '=':
    case '!=': {
      const other = compileTemplate(cond.with ?? '');
      const want = cond.op === '=';
      return (ex) => (value(ex) === other(ex)) === want;
    }
    case '~':
    case '~*':
    case '!~':
    case '!~*': {
      const source = cond.with ?? '';
      const regex = compileRewriteRegex(cond.op.endsWith('*') ? `(?i)${source}` : source);
      if (cond.op.startsWith('!')) return (ex) => !regex.test(value(ex));
      return (ex) => {
        const m = regex.exec(value(ex));
        if (m === null) return false;
        ex.captures = m; // nginx: the captures of an if's regex feed $1.. after it
        return true;
      };
    }
    default: {
      const test = fileTest(cond.op.replace('!', ''));
      const want = !cond.op.startsWith('!');
      return (ex) => test(value(ex)) === want;
    }
  }
}

/** A value is false when empty or "0" (ngx_http_script_if_code). */
function truthy(v: string): boolean {
  return v !== '' && v !== '0';
}

/**
 * `-f` `-d` `-e` `-x` (ngx_http_script_file_code, through ngx_open_cached_file): a regular
 * file, a directory, either (or anything that exists), and executable by its owner (nginx's
 * ngx_is_exec: S_IXUSR, which a directory has). stat() runs on the event loop, as nginx's runs
 * in its worker; a path that cannot be stat'ed (missing, NUL byte) tests false.
 */
function fileTest(op: string): (path: string) => boolean {
  return (path) => {
    let st;
    try {
      st = statSync(path, { throwIfNoEntry: false });
    } catch {
      return false;
    }
    if (st === undefined) return false;
    switch (op) {
      case '-f':
        return st.isFile();
      case '-d':
        return st.isDirectory();
      case '-x':
        return (st.mode & 0o100) !== 0;
      default:
        return true;
    }
  };
}

interface Rule {
  regex: RegExp;
  to: Template;
  /** Keep the old query (the target does not end in "?"). */
  addArgs: boolean;
  redirect: 301 | 302 | undefined;
  flag: 'last' | 'break' | undefined;
}

function compileRule(cfg: RewriteRuleConfig): Step {
  let target = cfg.to;
  const addArgs = !target.endsWith('?');
  if (!addArgs) target = target.slice(0, -1);
  const absolute = /^(https?:\/\/|\{scheme\})/.test(target);
  const redirect = cfg.flag === 'permanent' ? 301 : cfg.flag === 'redirect' || absolute ? 302 : undefined;
  const rule: Rule = {
    regex: compileRewriteRegex(cfg.match),
    to: compileTemplate(target, { context: redirect !== undefined ? 'location' : 'path' }),
    addArgs,
    redirect,
    flag: cfg.flag === 'last' || cfg.flag === 'break' ? cfg.flag : undefined,
  };
  return (ex, run) => runRule(rule, ex, run);
}

function runRule(rule: Rule, ex: Exchange, run: Run): Outcome {
  const m = rule.regex.exec(ex.path);
  if (m === null) return GO_ON;
  ex.captures = m;
  const value = rule.to(ex);
  const oldArgs = ex.query.slice(1);
  // The target carries a query of its own when it has a "?" (written, or from a placeholder such as {uri}).
  const q = value.indexOf('?');
  if (rule.redirect !== undefined) {
    let location = value;
    if (rule.addArgs && oldArgs !== '') location += (q >= 0 ? '&' : '?') + oldArgs;
    return { kind: 'redirect', status: rule.redirect, location };
  }
  let path = value;
  let args = rule.addArgs ? oldArgs : '';
  if (q >= 0) {
    path = value.slice(0, q);
    // The query goes upstream as it is, so what is not a query byte is encoded: the template
    // escaped its own placeholders after a "?", but a "?" may also come from one before it
    // (a decoded {path} holding "%3F"), and a space or CR LF must not reach the request line.
    const own = uriFromBytes(value.slice(q + 1));
    args = rule.addArgs && oldArgs !== '' ? `${own}&${oldArgs}` : own;
  }
  ex.path = path;
  ex.rawPath = encodePath(path);
  ex.query = args === '' ? '' : `?${args}`;
  run.changed = true;
  if (rule.flag === 'last') return { kind: 'changed', again: true };
  if (rule.flag === 'break') {
    ex.rewritten = true;
    return { kind: 'changed', again: false };
  }
  return GO_ON;
}
