/**
 * `rewrite` rules (server- and route-level), compiled once, with nginx's semantics
 * (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html#rewrite):
 *  - rules run in order against the normalized path; the first capture groups feed {re.N};
 *  - a target starting with "http://", "https://" or "{scheme}" is a redirect (302, or 301 with
 *    `permanent`), as are `redirect` and `permanent` with a relative target;
 *  - a "?" in the target sets the query, and the old query is appended after "&"; a target
 *    ending in "?" drops the old query;
 *  - `last` stops and has the route chosen again, `break` stops and keeps the route, no flag
 *    goes on with the next rule (and a changed path is routed again at the end).
 */
import type { RewriteRuleConfig } from '../config/schema.js';
import { compileRewriteRegex } from '../config/rewrite-syntax.js';
import { compileTemplate, type Template } from '../http/template.js';
import { encodePath } from '../http/normalize-path.js';
import { uriFromBytes } from '../http/escape.js';
import type { Exchange } from '../http/exchange.js';

interface Rule {
  regex: RegExp;
  to: Template;
  /** Keep the old query (the target does not end in "?"). */
  addArgs: boolean;
  redirect: 301 | 302 | undefined;
  flag: 'last' | 'break' | undefined;
}

export type RewriteResult =
  | { kind: 'none' }
  /** The path changed; `again` asks for the route to be chosen again. */
  | { kind: 'changed'; again: boolean }
  | { kind: 'redirect'; status: 301 | 302; location: string };

export type Rewrites = (ex: Exchange) => RewriteResult;

const NONE: RewriteResult = { kind: 'none' };

export function compileRewrites(rules: readonly RewriteRuleConfig[] | undefined): Rewrites | undefined {
  if (!rules || rules.length === 0) return undefined;
  const compiled = rules.map(compileRule);
  return (ex) => run(compiled, ex);
}

function compileRule(rule: RewriteRuleConfig): Rule {
  let target = rule.to;
  const addArgs = !target.endsWith('?');
  if (!addArgs) target = target.slice(0, -1);
  const absolute = /^(https?:\/\/|\{scheme\})/.test(target);
  const redirect = rule.flag === 'permanent' ? 301 : rule.flag === 'redirect' || absolute ? 302 : undefined;
  return {
    regex: compileRewriteRegex(rule.match),
    to: compileTemplate(target, { context: redirect !== undefined ? 'location' : 'path' }),
    addArgs,
    redirect,
    flag: rule.flag === 'last' || rule.flag === 'break' ? rule.flag : undefined,
  };
}

function run(rules: readonly Rule[], ex: Exchange): RewriteResult {
  let changed = false;
  for (const rule of rules) {
    const m = rule.regex.exec(ex.path);
    if (m === null) continue;
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
    changed = true;
    if (rule.flag === 'last') return { kind: 'changed', again: true };
    if (rule.flag === 'break') {
      ex.rewritten = true;
      return { kind: 'changed', again: false };
    }
  }
  return changed ? { kind: 'changed', again: true } : NONE;
}
