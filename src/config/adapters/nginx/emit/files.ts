/**
 * What nginx does in a location without proxy_pass or return: serve files
 * (https://nginx.org/en/docs/http/ngx_http_core_module.html#root, #alias, #index, #try_files,
 * ngx_http_autoindex_module, ngx_http_headers_module#expires, ngx_http_gzip_static_module)
 * -> a Portico `files` handler.
 *  - `root` is inherited, `alias` is not; with neither, nginx serves PREFIX/html;
 *    relative paths are relative to nginx's prefix, so they are made absolute here;
 *  - `try_files ... @name` becomes `fallback: { proxy }` when the named location proxies;
 *    `$uri` is `{path}`;
 *  - `autoindex on` is `browse` (html, or json with autoindex_format json), `gzip_static on`
 *    is `precompressed: [gzip]`, `expires` is `expires`, `etag off` is `etag: false`.
 * Portico refuses dot-files (.git, .env) where nginx would serve them: not carried over, on purpose.
 */
import { isAbsolute, join } from 'node:path';
import type { Directive } from '../parser.js';
import { effective, effectiveOne, own, type LocationNode, type Scope } from '../scope.js';
import { template, type AdaptContext, type ValueScope } from './context.js';
import { duration, parseTime } from './values.js';
import { literalTemplate } from '../../../../http/template.js';

export interface FilesOutput {
  files: Record<string, unknown>;
  /** The named location a try_files falls back to (its proxy settings apply). */
  fallback: LocationNode | undefined;
}

export function emitFiles(scope: Scope, node: LocationNode | undefined, named: ReadonlyMap<string, LocationNode>, ctx: AdaptContext, vs: ValueScope): FilesOutput | undefined {
  const files: Record<string, unknown> = {};
  const alias = node ? own(scope, 'alias')[0] : undefined;
  if (alias) {
    const dir = path(alias, ctx, vs, node);
    if (dir === undefined) return undefined;
    files.alias = dir;
  } else {
    const root = effectiveOne(scope, 'root');
    const dir = root ? path(root, ctx, vs, node) : `${ctx.prefix}/html`;
    if (dir === undefined) return undefined;
    files.root = dir;
  }
  const index = indexFiles(scope, ctx, vs);
  if (index.length > 0 && !(index.length === 1 && index[0] === 'index.html')) files.index = index;
  let fallback: LocationNode | undefined;
  const tryFiles = own(scope, 'try_files')[0];
  if (tryFiles) {
    const list: string[] = [];
    for (const [i, arg] of tryFiles.args.entries()) {
      const last = i === tryFiles.args.length - 1;
      if (last && arg.startsWith('@')) {
        fallback = named.get(arg);
        if (!fallback) ctx.diag.error(tryFiles, `named location "${arg}" not found`);
        continue;
      }
      if (last && arg.startsWith('=')) {
        if (!/^=\d{3}$/.test(arg)) ctx.diag.error(tryFiles, `invalid code "${arg.slice(1)}"`);
        list.push(arg);
        continue;
      }
      const t = template(ctx, vs, tryFiles, arg, 'try_files');
      if (t === undefined) return undefined;
      if (last && (t.includes('?') || t.includes('{query}'))) {
        ctx.diag.warn(tryFiles, `try_files: nginx routes the last entry "${arg}" again as a new request; Portico looks for it as a file`);
      }
      list.push(t.replace('?{query}', '').replace('{is_args}', ''));
    }
    if (list.some((e) => !e.startsWith('='))) files.try_files = list;
  }
  const autoindex = effectiveOne(scope, 'autoindex');
  if (autoindex?.args[0]!.toLowerCase() === 'on') files.browse = effectiveOne(scope, 'autoindex_format')?.args[0] === 'json' ? 'json' : 'html';
  const gzipStatic = effectiveOne(scope, 'gzip_static');
  if (gzipStatic && gzipStatic.args[0] !== 'off') {
    if (gzipStatic.args[0] !== 'on') ctx.diag.warn(gzipStatic, `gzip_static ${gzipStatic.args[0]} is carried over as "on"`);
    files.precompressed = ['gzip'];
  }
  const expires = effectiveOne(scope, 'expires');
  const value = expires ? filesExpires(expires) : undefined;
  if (value !== undefined && value !== 'off') files.expires = value;
  if (effectiveOne(scope, 'etag')?.args[0]!.toLowerCase() === 'off') files.etag = false;
  return { files, fallback };
}

/**
 * The `index` file names the files handler tries (variables known when adapting, such as
 * $server_name, written in); an absolute one (`index /index.php`) is an internal redirect
 * instead (indexRedirect). A name from variables Portico only knows per request is left out.
 */
function indexFiles(scope: Scope, ctx: AdaptContext, vs: ValueScope): string[] {
  const out: string[] = [];
  for (const d of effective(scope, 'index')) {
    for (const arg of d.args) {
      if (arg.startsWith('/')) continue;
      const t = template(ctx, vs, d, arg, 'index');
      if (t === undefined) continue;
      if (/\{[a-z_]/.test(t)) ctx.diag.warn(d, `index ${arg}: Portico takes index file names it knows when it starts; left out`);
      else out.push(t.replace(/\\\{/g, '{'));
    }
  }
  return out;
}

/**
 * `index ... /absolute`: for a request ending in "/", when no index file before it exists in
 * the root, nginx redirects internally to that URI (ngx_http_index_handler). As rewrite steps:
 * without the directory, or when one of the relative candidates exists (-e, in order), the route
 * is kept; else a `last` rewrite to the absolute one. Undefined without one (or with a root from variables, or
 * an alias, where the files are not at root + $uri).
 */
export function indexRedirect(scope: Scope, node: LocationNode | undefined, ctx: AdaptContext, vs: ValueScope): Record<string, unknown> | undefined {
  const args = effective(scope, 'index').flatMap((d) => d.args.map((a) => ({ a, d })));
  const last = args[args.length - 1];
  if (!last || !last.a.startsWith('/')) return undefined;
  const root = documentRoot(scope, node, ctx);
  if (!root || root.alias) {
    ctx.diag.warn(last.d, `index ${last.a}: Portico redirects to an absolute index only under a root without variables; left out`);
    return undefined;
  }
  const to = template(ctx, vs, last.d, last.a, 'index');
  if (to === undefined) return undefined;
  const base = literalTemplate(root.dir.replace(/\/$/, ''));
  // nginx tests the directory first (ngx_http_index_test_dir): none is a 404, not a redirect.
  const found: Record<string, unknown>[] = [{ if: { value: `${base}{path}`, op: '!-d' }, then: [{ break: true }] }];
  for (const { a, d } of args.slice(0, -1)) {
    if (a.startsWith('/')) continue;
    const name = template(ctx, vs, d, a, 'index');
    if (name !== undefined) found.push({ if: { value: `${base}{path}${name}`, op: '-e' }, then: [{ break: true }] });
  }
  return { if: { value: '{path}', op: '~', with: '/$' }, then: [...found, { match: '^', to, flag: 'last' }] };
}

/**
 * nginx's $document_root where it is known when the config is adapted: the location's alias, or
 * its root (PREFIX/html without one), absolute; undefined when it holds variables.
 */
export function documentRoot(scope: Scope, node: LocationNode | undefined, ctx: AdaptContext): { dir: string; alias: boolean } | undefined {
  const alias = node ? own(scope, 'alias')[0] : undefined;
  const d = alias ?? effectiveOne(scope, 'root');
  if (d === undefined) return { dir: `${ctx.prefix}/html`, alias: false };
  const value = d.args[0]!;
  if (value.includes('$')) return undefined;
  return { dir: isAbsolute(value) ? value : join(ctx.prefix, value), alias: alias !== undefined };
}

/** A root/alias directory: variables become placeholders (alias on a regex route), relative paths hang off nginx's prefix. */
function path(d: Directive, ctx: AdaptContext, vs: ValueScope, node: LocationNode | undefined): string | undefined {
  const value = template(ctx, vs, d, d.args[0]!, d.name);
  if (value === undefined) return undefined;
  if (value.includes('{') && !(d.name === 'alias' && node?.match.kind === 'regex')) {
    ctx.diag.warn(d, `${d.name} "${d.args[0]}": Portico takes variables only in an alias of a regex location; left out`);
    return undefined;
  }
  return isAbsolute(value) ? value : join(ctx.prefix, value);
}

/**
 * `expires 30d | max | off` as the files handler's own `expires`; undefined for what the route's
 * response_headers.expires carries instead (epoch, modified, @time, negative, variables: headers.ts).
 */
export function filesExpires(d: Directive): string | undefined {
  const [first, second] = d.args as [string, string | undefined];
  if (second !== undefined) return undefined;
  if (first === 'off' || first === 'max') return first;
  const ms = /^\+?[0-9][0-9smhdwMy ]*$/.test(first) ? parseTime(first.replace(/^\+/, '')) : undefined;
  return ms === undefined || ms % 1000 !== 0 ? undefined : duration(ms);
}
