/** What the Caddyfile directive mappers share, and the per-route state middleware builds up. */
import type { Diagnostics } from '../diagnostics.js';
import type { Directive } from './parser.js';
import { convertPlaceholders } from './placeholders.js';
import type { RouteMatchInput } from '../../match-schema.js';

export interface CaddyContext {
  diag: Diagnostics;
  /** Inside handle_errors, where {err.*} placeholders are filled in from the error (./errors.ts). */
  inErrors?: boolean;
}

export interface HeaderOps {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

/** A route's `match` set (src/config/match-schema.ts). */
export type MatchSet = RouteMatchInput;

/** What middleware directives leave for the route they lead to. */
export interface RouteState {
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  /** `uri strip_prefix` / `handle_path`. */
  strip: string | undefined;
  /** Route-level rewrite rules (nginx semantics, flag break). */
  rewrite: { match: string; to: string; flag?: string }[];
  root: string | undefined;
  tryFiles: string[] | undefined;
  /** The route's `match`: its matchers' conditions besides the path. */
  match: MatchSet | undefined;
  /** request_body max_size, in bytes. */
  maxBodySize: number | undefined;
  basicAuth: Record<string, unknown> | undefined;
  /** `encode` (directives/encode.ts): the route's compress. */
  compress?: Record<string, unknown>;
}

export function emptyState(): RouteState {
  return { requestHeaders: {}, responseHeaders: {}, strip: undefined, rewrite: [], root: undefined, tryFiles: undefined, match: undefined, maxBodySize: undefined, basicAuth: undefined };
}

export function cloneState(s: RouteState): RouteState {
  return structuredClone(s);
}

/** A directive value with Caddy placeholders as a Portico template, or undefined (warned) when it uses one Portico lacks. */
export function placeholders(ctx: CaddyContext, d: Directive, text: string, constants?: ReadonlyMap<string, string>): string | undefined {
  const r = convertPlaceholders(text, constants);
  if (r.ok) return r.template;
  ctx.diag.warn(d, `${d.name}: Portico has no placeholder ${r.unsupported}; left out`);
  return undefined;
}
