/**
 * `header` and `request_header` (https://caddyserver.com/docs/caddyfile/directives/header), and the
 * same syntax in reverse_proxy's `header_up` / `header_down`:
 *   `Field value` sets, `+Field value` adds, `-Field` removes, `?Field value` sets when absent
 *   (carried over as a set), `>Field value` sets after the handler (a set, too);
 *   `Field find replace` (regex substitution) is not supported.
 */
import type { Directive } from '../parser.js';
import { placeholders, type CaddyContext, type HeaderOps } from '../context.js';
import { PORTICO_FRAMED } from '../../../schema.js';

/**
 * The header operations of `d` (its arguments after the matcher, or its block lines).
 * `request`: they edit the request sent upstream, where framing and hop-by-hop headers are
 * Portico's own (config/schema.ts) and are left out with a warning.
 */
export function headerOps(ctx: CaddyContext, d: Directive, args: readonly string[], into: HeaderOps, constants?: ReadonlyMap<string, string>, request = false): void {
  if (args.length > 0) {
    one(ctx, d, args, into, constants, request);
    return;
  }
  for (const line of d.block ?? []) {
    if (line.name === 'defer') continue;
    one(ctx, line, [line.name, ...line.args.map((a) => a.text)], into, constants, request);
  }
}

function one(ctx: CaddyContext, d: Directive, args: readonly string[], into: HeaderOps, constants: ReadonlyMap<string, string> | undefined, request: boolean): void {
  const [field, value, replacement] = args as [string, string | undefined, string | undefined];
  const op = field[0];
  const name = /^[+\-?>]/.test(field) ? field.slice(1) : field;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    ctx.diag.error(d, `${d.name}: "${name}" is not a header field name`);
    return;
  }
  if (request && PORTICO_FRAMED.includes(name.toLowerCase())) {
    ctx.diag.warn(d, `${d.name} ${field}: Portico writes ${name} itself (framing, its own connection, upgrades); left out`);
    return;
  }
  if (op === '-') {
    (into.remove ??= []).push(name);
    return;
  }
  if (value === undefined) {
    ctx.diag.error(d, `${d.name}: "${field}" needs a value`);
    return;
  }
  if (replacement !== undefined) {
    ctx.diag.warn(d, `${d.name} ${field}: replacing by regular expression is not supported; left out`);
    return;
  }
  const v = placeholders(ctx, d, value, constants);
  if (v === undefined) return;
  if (op === '?') ctx.diag.warn(d, `${d.name} ?${name}: carried over as a plain set (Portico sets it even when the response has one)`);
  if (op === '+') (into.add ??= {})[name] = v;
  else (into.set ??= {})[name] = v;
}

/** Copies ops into the canonical shape, leaving out empty parts. */
export function headerConfig(ops: HeaderOps): HeaderOps | undefined {
  const out: HeaderOps = {};
  if (ops.set && Object.keys(ops.set).length > 0) out.set = ops.set;
  if (ops.add && Object.keys(ops.add).length > 0) out.add = ops.add;
  if (ops.remove && ops.remove.length > 0) out.remove = ops.remove;
  return Object.keys(out).length > 0 ? out : undefined;
}
