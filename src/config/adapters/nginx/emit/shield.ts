/**
 * Limits and access control (https://nginx.org/en/docs/http/ngx_http_core_module.html#client_max_body_size,
 * ngx_http_access_module, ngx_http_auth_basic_module, ngx_http_limit_req_module,
 * ngx_http_limit_conn_module, ngx_http_proxy_module#proxy_buffering) -> Portico's route and
 * `client` settings, which are named after these directives:
 *   client_max_body_size           route `max_body_size` (nginx's 1m default kept in `client`)
 *   client_*_timeout, send_timeout, keepalive_timeout   `client` (http level; one for all servers)
 *   proxy_buffering, proxy_request_buffering           `proxy.buffering`
 *   allow / deny                   `access`, in order (one list: a level with any of them drops the outer ones)
 *   auth_basic, auth_basic_user_file                   `basic_auth` (htpasswd formats: password-hash.ts)
 *   satisfy any                    `satisfy: any`
 *   limit_except METHOD... { }     `limit_except` (its allow/deny and auth_basic, inherited from the location)
 *   internal                       `internal`
 *   limit_req_zone + limit_req     `limit_req` (key, rate, burst, nodelay/delay, zone; nginx's 503)
 *   limit_conn_zone + limit_conn   `limit_conn` (every one written)
 *   limit_req_dry_run, limit_conn_dry_run              the limits' `dry_run`
 * None of these may be left out: where Portico cannot apply one as nginx would (a zone key it
 * cannot compute, a directive inside limit_except it does not know), the config is refused at
 * that directive's file:line, since running without it would let through what nginx refuses.
 */
import { isPasswordHash } from '../../../password-hash-format.js';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Directive } from '../parser.js';
import { effectiveOne, makeScope, own, type Scope } from '../scope.js';
import { BODY_SIZE_DEFAULT } from './context.js';
import { type AdaptContext, type ValueScope } from './context.js';
import { convert, variablesIn } from '../variables.js';
import { duration, parseSize, parseTime } from './values.js';

export interface Zone {
  kind: 'req' | 'conn';
  key: string;
  /** Requests per second (limit_req). */
  rate: string | undefined;
  size: number;
  d: Directive;
  /** The key was found not computable (reported once, at the zone). */
  refused?: boolean;
}

/** limit_req_zone / limit_conn_zone of the http block. */
export function collectZones(http: readonly Directive[], ctx: AdaptContext): Map<string, Zone> {
  const out = new Map<string, Zone>();
  for (const d of http) {
    if (d.name !== 'limit_req_zone' && d.name !== 'limit_conn_zone') continue;
    const [key, ...params] = d.args as [string, ...string[]];
    const zone = params.find((p) => p.startsWith('zone='));
    const m = zone ? /^zone=([^:]+):(\d+[kKmMgG]?)$/.exec(zone) : null;
    if (!m) {
      ctx.diag.error(d, `invalid zone size "${zone ?? ''}"`);
      continue;
    }
    const rate = params.find((p) => p.startsWith('rate='))?.slice(5);
    if (d.name === 'limit_req_zone' && (!rate || !/^\d+r\/[sm]$/.test(rate))) {
      ctx.diag.error(d, `invalid rate "${rate ?? ''}"`);
      continue;
    }
    out.set(`${d.name === 'limit_req_zone' ? 'req' : 'conn'}:${m[1]}`, { kind: d.name === 'limit_req_zone' ? 'req' : 'conn', key, rate, size: parseSize(m[2]!) ?? 0, d });
  }
  return out;
}

/** The route-level settings of a location. */
export function routeShield(scope: Scope, ctx: AdaptContext, vs: ValueScope, topBodySize: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const body = effectiveOne(scope, 'client_max_body_size');
  if (body && body.args[0] !== topBodySize) {
    if (parseSize(body.args[0]!) === undefined) ctx.diag.error(body, `"client_max_body_size" directive invalid value`);
    else out.max_body_size = body.args[0];
  }
  const access = accessRules(scope, ctx);
  if (access.length > 0) out.access = access;
  const auth = basicAuth(scope, ctx);
  if (auth) out.basic_auth = auth;
  if (effectiveOne(scope, 'satisfy')?.args[0]!.toLowerCase() === 'any') out.satisfy = 'any';
  const except = limitExcept(scope, ctx);
  if (except) out.limit_except = except;
  if (own(scope, 'internal').length > 0) out.internal = true;
  // A client timeout written in the server or location: the route's own (Portico's client one is the http level's).
  for (const [directive, key] of [['client_body_timeout', 'body_timeout'], ['send_timeout', 'send_timeout']] as const) {
    const d = effectiveOne(scope, directive);
    if (!d || !ownedBelowHttp(scope, d)) continue;
    const ms = parseTime(d.args[0]!);
    if (ms === undefined) ctx.diag.error(d, `"${directive}" directive invalid value`);
    else out[key] = duration(ms);
  }
  const reqs = limits(scope, 'limit_req', ctx, vs);
  if (reqs.length > 0) out.limit_req = reqs.length === 1 ? reqs[0] : reqs;
  const conns = limits(scope, 'limit_conn', ctx, vs);
  if (conns.length > 0) out.limit_conn = conns.length === 1 ? conns[0] : conns;
  return out;
}

/** Whether `d` is written in `scope` or a block between it and the http level (not the http level itself). */
function ownedBelowHttp(scope: Scope, d: Directive): boolean {
  for (let s: Scope | undefined = scope; s && s.kind !== 'http'; s = s.parent) if (s.directives.includes(d)) return true;
  return false;
}

/** nginx's method names for limit_except (ngx_methods_names in ngx_http_core_module.c). */
const METHODS = new Set('GET HEAD POST PUT DELETE MKCOL COPY MOVE OPTIONS PROPFIND PROPPATCH LOCK UNLOCK PATCH'.split(' '));
/** What a limit_except block may hold that Portico carries over (access_log there is per method: warned). */
const IN_LIMIT_EXCEPT = new Set(['allow', 'deny', 'auth_basic', 'auth_basic_user_file', 'access_log', 'proxy_pass']);

/**
 * limit_except METHOD... { ... }: the methods listed pass with the location's own checks; every
 * other one meets the block's allow/deny and auth_basic, which inherit from the location as a
 * nested block does in nginx. A directive Portico would have to drop there refuses the config.
 */
function limitExcept(scope: Scope, ctx: AdaptContext): Record<string, unknown> | undefined {
  const d = own(scope, 'limit_except')[0];
  if (!d?.block) return undefined;
  const methods: string[] = [];
  for (const m of d.args) {
    const upper = m.toUpperCase();
    if (!METHODS.has(upper)) ctx.diag.error(d, `invalid method "${m}"`);
    else methods.push(upper);
  }
  for (const inner of d.block) {
    // proxy_pass there makes the other methods a route variant of their own (route.ts).
    if (!IN_LIMIT_EXCEPT.has(inner.name)) ctx.diag.error(inner, `"${inner.name}" inside limit_except cannot be carried over: Portico applies only allow/deny, auth_basic and proxy_pass per method, and leaving it out would change what other methods get`);
    else if (inner.name === 'access_log') ctx.diag.warn(inner, 'access_log inside limit_except is not carried over: the location\'s applies to every method');
  }
  const lmt = makeScope('location', scope, d, d.block);
  const out: Record<string, unknown> = { methods };
  const access = accessRules(lmt, ctx);
  if (access.length > 0) out.access = access;
  const auth = basicAuth(lmt, ctx);
  if (auth) out.basic_auth = auth;
  return out.access === undefined && out.basic_auth === undefined ? undefined : out;
}

/** proxy_buffering / proxy_request_buffering / proxy_max_temp_file_size -> proxy.buffering (undefined: Portico's default, both on). */
export function proxyBuffering(scope: Scope): unknown {
  const response = effectiveOne(scope, 'proxy_buffering')?.args[0]!.toLowerCase() !== 'off';
  const request = effectiveOne(scope, 'proxy_request_buffering')?.args[0]!.toLowerCase() !== 'off';
  const temp = effectiveOne(scope, 'proxy_max_temp_file_size');
  if (response && request && !temp) return undefined;
  if (!temp) return response === request ? response : { request, response };
  return { request, response, max_temp_file_size: temp.args[0] };
}

/** allow/deny: the innermost level with any of them, both kinds in order. */
function accessRules(scope: Scope, ctx: AdaptContext): Record<string, string>[] {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    if (own(s, 'allow').length === 0 && own(s, 'deny').length === 0) continue;
    const rules = s.directives.filter((d) => d.name === 'allow' || d.name === 'deny');
    const out: Record<string, string>[] = [];
    for (const d of rules) {
      const who = d.args[0]!;
      if (who.startsWith('unix:')) {
        ctx.diag.warn(d, `${d.name} unix: is not carried over: Portico listens on TCP only`);
        continue;
      }
      out.push({ [d.name]: who });
    }
    return out;
  }
  return [];
}

function basicAuth(scope: Scope, ctx: AdaptContext): Record<string, unknown> | undefined {
  const realm = effectiveOne(scope, 'auth_basic');
  if (!realm || realm.args[0] === 'off') return undefined;
  const file = effectiveOne(scope, 'auth_basic_user_file');
  if (!file) {
    // nginx answers 401 to everyone then (no user can match); Portico needs users: none given.
    ctx.diag.warn(realm, 'auth_basic without auth_basic_user_file: nginx refuses every request; Portico does too (respond 401)');
    return { realm: realm.args[0], users: {} };
  }
  if (file.args[0]!.includes('$')) {
    // nginx reads the file named per request; Portico reads one when it starts. Nobody gets in
    // (fails closed), rather than guessing which file.
    ctx.diag.warn(file, `auth_basic_user_file ${file.args[0]}: Portico reads its users from one file, not one named by variables; every request here is refused (401)`);
    return { realm: realm.args[0], users: {} };
  }
  const path = isAbsolute(file.args[0]!) ? file.args[0]! : join(ctx.confDir, file.args[0]!);
  // Portico reads the file when it starts; a line it cannot check would refuse every start, so say it here, at its line.
  if (existsSync(path)) {
    let lines: string[] = [];
    try {
      lines = readFileSync(path, 'utf8').split(/\r?\n/);
    } catch (err) {
      ctx.diag.error(file, `auth_basic_user_file ${file.args[0]}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    lines.forEach((l, i) => {
      if (l.trim() === '' || l.startsWith('#')) return;
      const colon = l.indexOf(':');
      if (colon > 0 && isPasswordHash(l.slice(colon + 1).trim())) return;
      // nginx lets nobody in with a broken line either; a crypt(3) DES hash it checks, Portico does not.
      ctx.diag.warn(file, `auth_basic_user_file ${file.args[0]}: line ${i + 1} is not a hash Portico checks (bcrypt, $apr1$, $1$, $5$, $6$, {SHA}, {SSHA}, {PLAIN}): that user is never let in`);
    });
  } else ctx.diag.error(file, `auth_basic_user_file ${file.args[0]}: no such file (nginx answers 500 to every request then; Portico refuses the config)`);
  return { realm: realm.args[0], users_file: path };
}

/** limit_req zone=NAME [burst=N] [nodelay|delay=N] / limit_conn NAME N, with their zones. */
function limits(scope: Scope, name: 'limit_req' | 'limit_conn', ctx: AdaptContext, vs: ValueScope): Record<string, unknown>[] {
  let dirs: readonly Directive[] = [];
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    dirs = own(s, name);
    if (dirs.length > 0) break;
  }
  const status = effectiveOne(scope, `${name}_status`);
  if (status && !(/^\d+$/.test(status.args[0]!) && Number(status.args[0]) >= 400 && Number(status.args[0]) <= 599)) {
    ctx.diag.error(status, `value must be between 400 and 599`);
  }
  const dryRun = effectiveOne(scope, `${name}_dry_run`)?.args[0]!.toLowerCase() === 'on';
  const out: Record<string, unknown>[] = [];
  for (const d of dirs) {
    const zoneName = name === 'limit_req' ? d.args.find((a) => a.startsWith('zone='))?.slice(5) : d.args[0];
    const zone = zoneName === undefined ? undefined : ctx.zones.get(`${name === 'limit_req' ? 'req' : 'conn'}:${zoneName}`);
    if (!zone) {
      ctx.diag.error(d, `zero size shared memory zone "${zoneName ?? ''}"`);
      continue;
    }
    const limit: Record<string, unknown> = {};
    if (name === 'limit_req') {
      limit.rate = zone.rate;
      for (const p of d.args.slice(1)) {
        if (p.startsWith('burst=')) limit.burst = Number(p.slice(6));
        else if (p === 'nodelay') limit.nodelay = true;
        else if (p.startsWith('delay=')) limit.delay = Number(p.slice(6));
        else if (!p.startsWith('zone=')) ctx.diag.error(d, `invalid parameter "${p}"`);
      }
    } else {
      limit.max = Number(d.args[1]);
      if (!(Number(d.args[1]) > 0)) ctx.diag.error(d, `invalid number of connections "${d.args[1]}"`);
    }
    const key = zoneKey(zone, ctx, vs);
    if (key === null) continue;
    if (key !== undefined) limit.key = key;
    // A key holding $server_name is a different text in each server, so its buckets never meet
    // across servers: one zone per key text keeps that, where one shared name would be refused.
    limit.zone = variablesIn(zone.key).some((v) => vs.constants.has(v)) ? `${zoneName} ${key}` : zoneName;
    if (name === 'limit_req' && zone.size > 0) limit.max_keys = Math.max(1000, Math.floor(zone.size / 64)); // nginx: about 16,000 states per megabyte
    // nginx answers an excess with 503 unless told otherwise; Portico's own default is 429.
    limit.status = status ? Number(status.args[0]) : 503;
    if (dryRun) limit.dry_run = true;
    out.push(limit);
  }
  return out;
}

/** Variables a zone key may use, for the message when one cannot be computed. */
const KEY_VARIABLES = '$binary_remote_addr, $remote_addr, $http_NAME, $arg_NAME, $cookie_NAME, $uri, $request_uri, $args, $host, $server_name, $request_method, $scheme, $server_port and map variables of them';

/**
 * The zone's key as a template; undefined for the client address (Portico's default), null
 * when Portico cannot compute it. That refuses the config: without its key the limit would be
 * left out, and every request nginx limits would pass.
 */
function zoneKey(zone: Zone, ctx: AdaptContext, vs: ValueScope): string | undefined | null {
  if (zone.refused) return null;
  const r = convert(zone.key, { defined: ctx.defined, captures: vs.captures, constants: vs.constants, maps: ctx.computedMaps, used: ctx.usedMaps });
  if (r.ok) return r.template === '{client_ip}' ? undefined : r.template;
  zone.refused = true;
  if (r.unknown !== undefined) ctx.diag.error(zone.d, `unknown "${r.unknown}" variable`);
  else {
    const what = ctx.maps.has(r.unsupported!) ? `$${r.unsupported}, a map Portico cannot compute` : `$${r.unsupported}`;
    ctx.diag.error(zone.d, `${zone.d.name} key "${zone.key}": Portico cannot compute ${what}, so this limit cannot be applied; Portico keys a zone on ${KEY_VARIABLES}`);
  }
  return null;
}

/** `client` settings from the http level (Portico has one for every listener). */
export function clientOptions(http: Scope, ctx: AdaptContext): Record<string, unknown> {
  const servers = http.directives.filter((d) => d.name === 'server' && d.block).map((d) => ({ directives: d.block! }));
  const out: Record<string, unknown> = {};
  // [directive, Portico key, nginx's default]
  // client_body_timeout and send_timeout per server or location are the routes' own (routeShield).
  const map: [string, string, string][] = [
    ['client_header_timeout', 'header_timeout', '60s'],
    ['keepalive_timeout', 'keepalive_timeout', '75s'],
  ];
  for (const [directive, key] of [['client_body_timeout', 'body_timeout'], ['send_timeout', 'send_timeout']] as const) {
    const d = own(http, directive)[0];
    if (!d) continue;
    const ms = parseTime(d.args[0]!);
    if (ms === undefined) ctx.diag.error(d, `"${directive}" directive invalid value`);
    else out[key] = duration(ms);
  }
  for (const [directive, key, nginxDefault] of map) {
    const d = own(http, directive)[0];
    if (d) {
      const ms = parseTime(d.args[0]!);
      if (ms === undefined) ctx.diag.error(d, `"${directive}" directive invalid value`);
      else out[key] = duration(ms);
    }
    const global = d?.args[0] ?? nginxDefault;
    for (const s of servers) {
      const inner = [...s.directives.filter((x) => x.name === directive), ...s.directives.filter((x) => x.name === 'location').flatMap((l) => (l.block ?? []).filter((x) => x.name === directive))];
      for (const i of inner) {
        if (i.args[0] === global) continue;
        // A longer one is not applied (Portico's shorter one, for all, is); a shorter one would be a limit left out.
        if ((parseTime(i.args[0]!) ?? Infinity) < (parseTime(global) ?? Infinity)) {
          ctx.diag.error(i, `${directive} ${i.args[0]} per server or location cannot be carried over: Portico has one for all listeners (${global}), and keeping that one would wait longer than nginx does here; set it in the http block`);
        } else ctx.diag.warn(i, `${directive} per server or location is not carried over: Portico has one for all (${global}, shorter)`);
      }
    }
  }
  // nginx's default request body limit is 1m (Portico's own is 10MiB): kept, as nginx users count on it.
  out.max_body_size = own(http, 'client_max_body_size')[0]?.args[0] ?? BODY_SIZE_DEFAULT;
  return out;
}
