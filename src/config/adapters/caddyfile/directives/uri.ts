/**
 * `uri` (https://caddyserver.com/docs/caddyfile/directives/uri) and `rewrite` (.../rewrite).
 * `uri strip_prefix` becomes the route's `strip_prefix`; `uri strip_suffix` and `rewrite`
 * become Portico rewrite rules. Caddy's rewrite keeps the query unless the target has one,
 * which then replaces it: written for Portico's (nginx's) rules as a target ending in "?".
 */
import type { Directive } from '../parser.js';
import type { Token } from '../lexer.js';
import { placeholders, type CaddyContext, type RouteState } from '../context.js';
import { patternRegex, type PathPattern } from '../matchers.js';

export function uri(ctx: CaddyContext, d: Directive, args: Token[], state: RouteState): void {
  const [op, a] = args.map((t) => t.text);
  switch (op) {
    case 'strip_prefix':
      if (a === undefined) return ctx.diag.error(d, 'uri strip_prefix: a prefix is required');
      state.strip = a.startsWith('/') ? a : `/${a}`;
      return;
    case 'strip_suffix':
      if (a === undefined) return ctx.diag.error(d, 'uri strip_suffix: a suffix is required');
      state.rewrite.push({ match: `^(.*)${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, to: '{re.1}', flag: 'break' });
      return;
    case 'replace':
    case 'path_regexp':
    case 'query':
      ctx.diag.warn(d, `uri ${op} is not carried over: Portico rewrites whole paths (use rewrite)`);
      return;
    default:
      ctx.diag.error(d, `uri: unrecognized operation "${op ?? ''}"`);
  }
}

/** A rewrite rule for `rewrite [matcher] <to>`; `flag` is `last` at site level (the route is chosen again), `break` inside a route. */
export function rewriteRule(ctx: CaddyContext, d: Directive, args: Token[], pattern: PathPattern, flag: 'last' | 'break'): { match: string; to: string; flag: string } | undefined {
  const to = args[0]?.text;
  if (to === undefined || args.length > 1) {
    ctx.diag.error(d, 'rewrite: expected exactly one target');
    return undefined;
  }
  const t = placeholders(ctx, d, to);
  if (t === undefined) return undefined;
  // Caddy: a query in the target replaces the request's; nginx/Portico append the old one unless the target ends in "?".
  const target = t.includes('?') && !t.endsWith('?') ? `${t}?` : t;
  return { match: patternRegex(pattern), to: target, flag };
}
