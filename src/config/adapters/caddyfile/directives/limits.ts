/**
 * `request_body { max_size }` (https://caddyserver.com/docs/caddyfile/directives/request_body) and
 * `basic_auth` (.../basic_auth) -> the route's `max_body_size` and `basic_auth`. Caddy writes
 * bcrypt hashes base64-encoded in older versions (2.6's `caddy hash-password`) and as is in newer
 * ones; both are accepted.
 */
import type { Directive } from '../parser.js';
import type { Token } from '../lexer.js';
import type { CaddyContext, RouteState } from '../context.js';

/**
 * A Caddy size (go-humanize's ParseBytes, as Caddy reads them): "10MB" and "10M" are decimal
 * (10,000,000), "10MiB" binary. Portico's own "10MB" would be 10 MiB, a 5% looser limit, so
 * the adapter writes the bytes. undefined: not a size.
 */
export function caddySize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)$/i.exec(text.trim());
  if (!m) return undefined;
  const power = ' kmgtp'.indexOf((m[2] || ' ').toLowerCase());
  const base = m[3] !== '' ? 1024 : 1000;
  return Math.floor(Number(m[1]) * base ** power);
}

export function requestBody(ctx: CaddyContext, d: Directive, state: RouteState): void {
  for (const sub of d.block ?? []) {
    if (sub.name === 'max_size' && sub.args[0]) {
      const bytes = caddySize(sub.args[0].text);
      if (bytes === undefined) ctx.diag.error(sub, `request_body max_size: invalid size "${sub.args[0].text}"`);
      else state.maxBodySize = bytes;
    } else ctx.diag.warn(sub, `request_body ${sub.name} is not carried over`);
  }
}

export function basicAuth(ctx: CaddyContext, d: Directive, args: Token[], state: RouteState): void {
  const [algorithm, realm] = args.map((t) => t.text);
  if (algorithm !== undefined && algorithm !== 'bcrypt') {
    ctx.diag.warn(d, `basic_auth ${algorithm}: Portico checks bcrypt hashes only; this basic_auth is left out, so the route answers 401 to everyone`);
    state.basicAuth = { users: {} };
    return;
  }
  const users: Record<string, string> = {};
  for (const line of d.block ?? []) {
    const hash = line.args[0]?.text ?? '';
    users[line.name] = hash.startsWith('$') ? hash : Buffer.from(hash, 'base64').toString('utf8');
  }
  state.basicAuth = { ...(realm ? { realm } : {}), users };
}
