/**
 * Per-route header edits (`request_headers` / `response_headers`: set, add, remove), compiled
 * once. Headers travel as node's flat raw form [name, value, name, value, ...], which keeps
 * repeated headers such as Set-Cookie intact and costs no object per request.
 */
import type { Exchange } from './exchange.js';
import { compileTemplate, type Template } from './template.js';
import { compileExpires, type ExpiresOp } from './expires.js';

export interface HeaderOps {
  /** Lower-cased names dropped from the incoming set (removed ones and the ones `set` replaces). */
  readonly drop: ReadonlySet<string>;
  /** Headers appended after filtering: `set` first, then `add`; `successOnly` ones only on SUCCESS statuses. */
  readonly append: ReadonlyArray<readonly [name: string, value: Template, successOnly?: boolean]>;
  /** nginx `expires` (responses only, on SUCCESS statuses): Expires and Cache-Control, replacing the response's. */
  readonly expires?: ExpiresOp | undefined;
  readonly empty: boolean;
}

/** The statuses nginx's add_header (without `always`) applies to (ngx_http_headers_filter). */
const SUCCESS: ReadonlySet<number> = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);

/** Values are header values: request text in them is escaped as such (template.ts). */
const HEADER = { context: 'header' } as const;

export const NO_HEADER_OPS: HeaderOps = { drop: new Set(), append: [], empty: true };

/** A route's `request_headers` / `response_headers` as the config states them (config/schema.ts). */
export interface HeaderOpsConfig {
  set?: Readonly<Record<string, string>>;
  add?: Readonly<Record<string, string | { value: string; success_only?: boolean }>>;
  remove?: readonly string[];
  expires?: string;
}

export function compileHeaderOps(cfg: HeaderOpsConfig | undefined): HeaderOps {
  if (!cfg) return NO_HEADER_OPS;
  const drop = new Set<string>();
  const append: [string, Template, boolean?][] = [];
  for (const name of cfg.remove ?? []) drop.add(name.toLowerCase());
  for (const [name, value] of Object.entries(cfg.set ?? {})) {
    drop.add(name.toLowerCase());
    append.push([name, compileTemplate(value, HEADER)]);
  }
  for (const [name, value] of Object.entries(cfg.add ?? {})) {
    if (typeof value === 'string') append.push([name, compileTemplate(value, HEADER)]);
    else append.push([name, compileTemplate(value.value, HEADER), value.success_only]);
  }
  const expires = cfg.expires === undefined ? undefined : compileExpires(cfg.expires);
  if (drop.size === 0 && append.length === 0 && expires === undefined) return NO_HEADER_OPS;
  return { drop, append, expires, empty: false };
}

/** Applies the ops to a flat header list, returning a new list; `status` is the response's (undefined for requests). */
export function applyHeaderOps(ops: HeaderOps, headers: readonly string[], ex: Exchange, status?: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (ops.drop.size > 0 && ops.drop.has(name.toLowerCase())) continue;
    out.push(name, headers[i + 1]!);
  }
  appendHeaders(ops, out, ex, status);
  return out;
}

/** A value that comes out empty is not sent (nginx: "if the value is an empty string, the field is not passed"). */
export function appendHeaders(ops: HeaderOps, out: string[], ex: Exchange, status?: number): void {
  // nginx's headers filter sets expires first, then adds add_header's (ngx_http_headers_filter).
  if (ops.expires !== undefined && status !== undefined && SUCCESS.has(status)) ops.expires(ex, out);
  for (const [name, value, successOnly] of ops.append) {
    if (successOnly && (status === undefined || !SUCCESS.has(status))) continue;
    const v = value(ex);
    if (v !== '') out.push(name, v);
  }
}
