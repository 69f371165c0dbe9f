/**
 * `file_server` (https://caddyserver.com/docs/caddyfile/directives/file_server) with `root` and
 * `try_files` before it -> a Portico `files` handler. Caddy's root is nginx's root (the path is
 * appended); under `handle_path` / `uri strip_prefix` the stripped path is appended, which in
 * Portico is an alias. Caddy's default index files are index.html and index.txt.
 */
import type { Directive } from '../parser.js';
import type { Token } from '../lexer.js';
import { placeholders, type CaddyContext, type RouteState } from '../context.js';

const CODINGS = new Set(['br', 'zstd', 'gzip']);

export function fileServer(ctx: CaddyContext, d: Directive, args: Token[], state: RouteState): Record<string, unknown> {
  const files: Record<string, unknown> = { index: ['index.html', 'index.txt'] };
  let root = state.root;
  for (const a of args) {
    if (a.text === 'browse') files.browse = true;
    else ctx.diag.error(d, `file_server: unrecognized argument "${a.text}"`);
  }
  for (const sub of d.block ?? []) {
    const subArgs = sub.args.map((t) => t.text);
    switch (sub.name) {
      case 'root':
        root = subArgs[0];
        break;
      case 'index':
        files.index = subArgs;
        break;
      case 'browse':
        files.browse = true;
        // Checked as Caddy checks them (modules/caddyhttp/fileserver/caddyfile.go), then left out.
        for (const o of sub.block ?? []) {
          if (o.name === 'file_limit' && !/^-?\d+$/.test(o.args[0]?.text ?? '')) ctx.diag.error(o, 'file_limit must be an integer');
          if (o.name === 'plain_time_format' && o.args.length === 0) ctx.diag.error(o, 'plain_time_format is missing a time layout argument');
        }
        if (subArgs.length > 0 || sub.block) ctx.diag.warn(sub, 'browse templates and options are not carried over: Portico has its own listing');
        break;
      case 'precompressed': {
        const list = subArgs.length > 0 ? subArgs : ['br', 'zstd', 'gzip'];
        const known = list.filter((c) => CODINGS.has(c));
        if (known.length !== list.length) ctx.diag.warn(sub, `precompressed: Portico knows br, zstd and gzip; ${list.filter((c) => !CODINGS.has(c)).join(', ')} left out`);
        files.precompressed = known;
        break;
      }
      case 'hide': {
        // Portico answers 404 for any path segment starting with "." except .well-known; a
        // hide entry that says no more than that is already kept. Any other would be served.
        const served = subArgs.filter((h) => !(h.startsWith('.') && !/[/*?[]/.test(h) && h !== '.well-known'));
        if (served.length > 0) ctx.diag.error(sub, `file_server hide ${served.join(' ')} cannot be carried over: Portico hides only dot-files (not .well-known), and these would be served`);
        break;
      }
      default:
        ctx.diag.warn(sub, `file_server ${sub.name} is not carried over`);
    }
  }
  const dir = root === undefined ? '.' : placeholders(ctx, d, root);
  if (state.strip !== undefined) files.alias = dir ?? '.';
  else files.root = dir ?? '.';
  if (state.tryFiles) files.try_files = state.tryFiles;
  return { files };
}

/** `root [matcher] <path>` */
export function rootDirective(ctx: CaddyContext, d: Directive, args: Token[], state: RouteState): void {
  if (args.length !== 1) return ctx.diag.error(d, 'root: expected one directory');
  state.root = args[0]!.text;
}

/** `try_files <files...>` (a rewrite to the first file that exists; `=404` may end the list). */
export function tryFiles(ctx: CaddyContext, d: Directive, args: Token[], state: RouteState): void {
  const list: string[] = [];
  for (const a of args) {
    const t = placeholders(ctx, d, a.text);
    if (t !== undefined) list.push(t);
  }
  for (const sub of d.block ?? []) if (sub.name !== 'policy' || sub.args[0]?.text !== 'first_exist') ctx.diag.warn(sub, `try_files ${sub.name} is not carried over: Portico takes the first that exists`);
  if (list.length > 0) state.tryFiles = list;
}
