/**
 * nginx's gzip module (https://nginx.org/en/docs/http/ngx_http_gzip_module.html) -> the
 * route's `compress`, from the directives in effect at the location (each inherited as nginx
 * merges it), with nginx's defaults where the config says nothing:
 *   gzip on                  codings [gzip] (nginx compresses with gzip only)
 *   gzip_types               types: text/html (always, as in nginx) plus the listed ones; "*": any
 *   gzip_comp_level          level.gzip (default 1)
 *   gzip_min_length          min_length (default 20)
 *   gzip_proxied             proxied (default off: a request with Via gets no compression)
 *   gzip_disable             disable: "msie6" is nginx's MSIE [4-6]. mask; others are
 *                            case-insensitive regexes, through Portico's regex policy
 *   gzip_http_version        http_version (default 1.1)
 *   gzip_vary                accepted: Portico always sends Vary: Accept-Encoding when the
 *                            answer depended on it (docs/differences.md)
 *   gzip_buffers             nothing to carry over (Portico's encoders size their own buffers)
 */
import type { Directive } from '../parser.js';
import { effective, effectiveOne, type Scope } from '../scope.js';
import type { AdaptContext } from './context.js';
import { regexProblem } from '../../../../regex/safe-regex.js';
import { COMPRESS_PROXIED } from '../../../compress-schema.js';
import { isSize } from '../../../size.js';

/** nginx's msie6 mask, as the regex its documentation gives for it. */
const MSIE6 = 'MSIE [4-6]\\.';

export function emitCompress(scope: Scope, ctx: AdaptContext): Record<string, unknown> | undefined {
  const gzip = effectiveOne(scope, 'gzip');
  if (gzip === undefined || gzip.args[0]!.toLowerCase() !== 'on') return undefined;
  const out: Record<string, unknown> = { codings: ['gzip'] };

  const types = new Set<string>(['text/html']);
  for (const d of effective(scope, 'gzip_types')) for (const t of d.args) types.add(t.toLowerCase());
  out.types = types.has('*') ? ['*'] : [...types];

  const level = effectiveOne(scope, 'gzip_comp_level');
  const n = level === undefined ? 1 : Number(level.args[0]);
  if (!Number.isInteger(n) || n < 1 || n > 9) ctx.diag.error(level!, `invalid value "${level!.args[0]}" in "gzip_comp_level": expected 1 to 9`);
  else out.level = { gzip: n };

  const min = effectiveOne(scope, 'gzip_min_length');
  if (min === undefined) out.min_length = 20;
  else if (!isSize(min.args[0]!)) ctx.diag.error(min, `invalid value "${min.args[0]}" in "gzip_min_length"`);
  else out.min_length = /^\d+$/.test(min.args[0]!) ? Number(min.args[0]) : min.args[0];

  const proxied: string[] = [];
  for (const d of effective(scope, 'gzip_proxied')) {
    for (const a of d.args) {
      if ((COMPRESS_PROXIED as readonly string[]).includes(a)) proxied.push(a);
      else ctx.diag.error(d, `invalid value "${a}" in "gzip_proxied"`);
    }
  }
  out.proxied = proxied.length > 0 ? proxied : ['off'];

  const disable = disabled(effective(scope, 'gzip_disable'), ctx);
  if (disable.length > 0) out.disable = disable;

  const version = effectiveOne(scope, 'gzip_http_version');
  if (version !== undefined) {
    if (version.args[0] === '1.0' || version.args[0] === '1.1') out.http_version = version.args[0];
    else ctx.diag.error(version, `invalid value "${version.args[0]}" in "gzip_http_version"`);
  }
  return out;
}

function disabled(list: readonly Directive[], ctx: AdaptContext): string[] {
  const out: string[] = [];
  for (const d of list) {
    for (const arg of d.args) {
      if (arg === 'msie6') {
        out.push(MSIE6);
        continue;
      }
      if (arg === 'degradation') {
        ctx.diag.warn(d, 'gzip_disable degradation: Portico does not measure its own load; left out');
        continue;
      }
      const problem = regexProblem(arg, true);
      if (problem) ctx.diag.warn(d, `gzip_disable "${arg}": ${problem}; left out (those clients get compressed responses)`);
      else out.push(arg);
    }
  }
  return out;
}
