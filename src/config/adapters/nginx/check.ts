/**
 * What `nginx -t` checks before anything else (ngx_conf_handler): the directive exists, is
 * allowed in its block, has the right number of arguments, an on/off flag is on or off, a block
 * directive has a block and a simple one has none, and a single-value directive is not set twice
 * in one block. Messages are nginx's own wording. Directives Portico cannot carry over are
 * warned about here, once each, at their file:line.
 */
import type { Directive } from './parser.js';
import { DIRECTIVES, familySpec, type Context } from './registry.js';
import type { Diagnostics } from '../diagnostics.js';
import { checkIfCondition } from './if-condition.js';
import type { VariableEnv } from './variables.js';

/** Which context the file's top level is: a full nginx.conf, or bare server blocks (conf.d/default.conf). */
export function topContext(dirs: readonly Directive[]): 'main' | 'http' {
  for (const d of dirs) {
    const spec = DIRECTIVES[d.name];
    if (spec && spec.ctx.includes('main') && !spec.ctx.includes('http')) return 'main';
  }
  return 'http';
}

const BLOCK_CONTEXT: Record<string, (parent: Context) => Context> = {
  events: () => 'events',
  http: () => 'http',
  server: () => 'server',
  location: () => 'location',
  upstream: () => 'upstream',
  if: (parent) => (parent === 'server' ? 'sif' : 'lif'),
  limit_except: () => 'lmt',
};

/** `ifEnv`: the variables an `if` condition may read besides nginx's own (if-condition.ts). */
export function checkTree(dirs: readonly Directive[], ctx: Context, diag: Diagnostics, ifEnv?: VariableEnv): void {
  walk(dirs, ctx, diag, false, ifEnv);
  if (ctx === 'main' && dirs.some((d) => d.name === 'http') && !dirs.some((d) => d.name === 'events')) {
    diag.error({ file: dirs[0]!.file, line: dirs[0]!.line }, 'no "events" section in configuration');
  }
}

function walk(dirs: readonly Directive[], ctx: Context, diag: Diagnostics, quiet: boolean, ifEnv: VariableEnv | undefined): void {
  const seen = new Set<string>();
  for (const d of dirs) {
    const at = { file: d.file, line: d.line, col: d.col };
    const spec = DIRECTIVES[d.name] ?? familySpec(d.name);
    if (!spec) {
      diag.error(at, `unknown directive "${d.name}"`);
      continue;
    }
    // `server` is a block in http and a simple directive (an address) in upstream.
    const isUpstreamServer = d.name === 'server' && ctx === 'upstream';
    if (!spec.ctx.includes(ctx)) {
      diag.error(at, `"${d.name}" directive is not allowed here`);
      continue;
    }
    const wantsBlock = d.name === 'server' ? !isUpstreamServer : spec.block !== undefined;
    if (wantsBlock && !d.block) {
      diag.error(at, `directive "${d.name}" has no opening "{"`);
      continue;
    }
    if (!wantsBlock && d.block) {
      diag.error(at, `directive "${d.name}" is not terminated by ";"`);
      continue;
    }
    if (!argsOk(d, isUpstreamServer)) {
      diag.error(at, `invalid number of arguments in "${d.name}" directive`);
      continue;
    }
    if (spec.args === 'flag') {
      const v = d.args[0]!.toLowerCase();
      if (v !== 'on' && v !== 'off') {
        diag.error(at, `invalid value "${d.args[0]}" in "${d.name}" directive, it must be "on" or "off"`);
        continue;
      }
    }
    if (spec.unique) {
      if (seen.has(d.name)) {
        diag.error(at, `"${d.name}" directive is duplicate`);
        continue;
      }
      seen.add(d.name);
    }
    if (d.name === 'alias' || d.name === 'root') {
      const other = d.name === 'alias' ? 'root' : 'alias';
      if (seen.has(other)) diag.error(at, `"${d.name}" directive is duplicate, "${other}" directive was specified earlier`);
    }
    if (d.name === 'if' && !checkIfCondition(d, ifEnv, diag)) continue;
    const script = SCRIPTED[d.name];
    const unclosed = script === undefined ? undefined : d.args.slice(script).map((a) => /\$\{([A-Za-z0-9_]*)(?![A-Za-z0-9_]*\})/.exec(a)).find((m) => m !== null);
    if (unclosed) {
      diag.error(at, `the closing bracket in "${unclosed[1]}" variable is missing`);
      continue;
    }
    const enumerated = ONE_OF[d.name];
    if (enumerated && !enumerated.includes(d.args[0]!.toLowerCase())) {
      diag.error(at, `invalid value "${d.args[0]}" in "${d.name}" directive, it must be ${enumerated.map((v) => `"${v}"`).join(' or ')}`);
      continue;
    }
    const support = spec.supportIn?.[ctx] ?? spec.support;
    if (support.kind === 'warn' && !quiet && CONTENT_HANDLERS.has(d.name)) {
      // Without it the location would serve files from its root: a PHP script's source, say.
      diag.error(at, `"${d.name}" cannot be carried over: ${support.why}, and its location would be left with nothing to do (it would serve files instead)`);
    } else if (support.kind === 'warn' && !quiet) {
      diag.warn(at, `"${d.name}" is not carried over: ${support.why}`);
    }
    if (support.kind === 'refuse' && d.args[0] !== support.off) diag.error(at, `"${d.name}" cannot be carried over: ${support.why}`);
    if (d.block && spec.block === 'directives') {
      const inner = BLOCK_CONTEXT[d.name]?.(ctx) ?? ctx;
      walk(d.block, inner, diag, quiet || spec.support.kind === 'warn', ifEnv);
    } else if (d.block && d.name === 'server') {
      walk(d.block, 'server', diag, quiet, ifEnv);
    }
  }
}

/**
 * Directives whose arguments (from the index given) nginx compiles as scripts with variables
 * (ngx_http_script_compile), where `${name` without its `}` is an error; elsewhere `$` and `{`
 * are plain characters (a regex's `${2}` stays one).
 */
const SCRIPTED: Record<string, number> = {
  return: 0,
  add_header: 0,
  proxy_set_header: 0,
  set: 1,
  proxy_pass: 0,
  root: 0,
  alias: 0,
  try_files: 0,
  index: 0,
  rewrite: 1,
  error_page: 0,
  access_log: 0,
};

/** Directives that produce a location's response (its content handler): dropping one leaves the location nothing to do. */
const CONTENT_HANDLERS = new Set(['fastcgi_pass', 'uwsgi_pass', 'scgi_pass', 'grpc_pass', 'memcached_pass', 'stub_status', 'empty_gif', 'perl', 'flv', 'mp4', 'js_content']);

/** Directives whose one argument nginx takes from a fixed list (ngx_conf_enum_t). */
const ONE_OF: Record<string, readonly string[]> = {
  satisfy: ['all', 'any'],
};

function argsOk(d: Directive, upstreamServer: boolean): boolean {
  const n = d.args.length;
  if (d.name === 'server') return upstreamServer ? n >= 1 : n === 0;
  const spec = (DIRECTIVES[d.name] ?? familySpec(d.name))!;
  if (spec.args === 'flag') return n === 1;
  return spec.args.includes(n);
}
