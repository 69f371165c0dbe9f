/**
 * Limits and access control (https://nginx.org/en/docs/http/ngx_http_core_module.html#client_max_body_size,
 * ngx_http_access_module, ngx_http_auth_basic_module, ngx_http_limit_req_module,
 * ngx_http_limit_conn_module, ngx_http_proxy_module#proxy_buffering) -> Portico's route and
 * `client` settings, which are named after these directives:
 *   client_max_body_size           route `max_body_size` (nginx's 1m default kept in `client`)
 *   client_*_timeout, send_timeout, keepalive_timeout   `client` (http level; one for all servers)
 *   proxy_buffering, proxy_request_buffering           `proxy.buffering`
 *   allow / deny                   `access`, in order (one list: a level with any of them drops the outer ones)
 *   auth_basic, auth_basic_user_file                   `basic_auth` (bcrypt lines only)
 *   limit_req_zone + limit_req     `limit_req` (key, rate, burst, nodelay/delay, zone; nginx's 503)
 *   limit_conn_zone + limit_conn   `limit_conn`
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Directive } from '../parser.js';
import { effectiveOne, own, type Scope } from '../scope.js';
import { BODY_SIZE_DEFAULT } from './context.js';
import { template, type AdaptContext, type ValueScope } from './context.js';
import { duration, parseSize, parseTime } from './values.js';

export interface Zone {
  kind: 'req' | 'conn';
  key: string;
  /** Requests per second (limit_req). */
  rate: string | undefined;
  size: number;
  d: Directive;
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
  const reqs = limits(scope, 'limit_req', ctx, vs);
  if (reqs.length > 0) out.limit_req = reqs.length === 1 ? reqs[0] : reqs;
  const conns = limits(scope, 'limit_conn', ctx, vs);
  if (conns.length > 1) ctx.diag.warn(own(scope, 'limit_conn')[1] ?? scope.block!, 'several limit_conn: Portico applies one per route (the first)');
  if (conns.length > 0) out.limit_conn = conns[0];
  return out;
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
    const rules = s.directives.filter((d) => d.name === 'allow' || d.name === 'deny');
    if (rules.length === 0) continue;
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
  const path = isAbsolute(file.args[0]!) ? file.args[0]! : join(ctx.confDir, file.args[0]!);
  if (existsSync(path)) {
    const bad = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#') && !/^[^:]+:\$2[aby]\$/.test(l));
    if (bad.length > 0) ctx.diag.warn(file, `auth_basic_user_file ${file.args[0]}: Portico checks bcrypt lines only (htpasswd -B); ${bad.length} other line(s) will be refused at startup`);
  }
  return { realm: realm.args[0], users_file: path };
}

/** limit_req zone=NAME [burst=N] [nodelay|delay=N] / limit_conn NAME N, with their zones. */
function limits(scope: Scope, name: 'limit_req' | 'limit_conn', ctx: AdaptContext, vs: ValueScope): Record<string, unknown>[] {
  let dirs: Directive[] = [];
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    dirs = own(s, name);
    if (dirs.length > 0) break;
  }
  const status = effectiveOne(scope, `${name}_status`);
  if (effectiveOne(scope, `${name}_dry_run`)?.args[0] === 'on') ctx.diag.warn(effectiveOne(scope, `${name}_dry_run`)!, `${name}_dry_run: Portico enforces the limit`);
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
    limit.zone = zoneName;
    if (name === 'limit_req' && zone.size > 0) limit.max_keys = Math.max(1000, Math.floor(zone.size / 64)); // nginx: about 16,000 states per megabyte
    // nginx answers an excess with 503 unless told otherwise; Portico's own default is 429.
    limit.status = status ? Number(status.args[0]) : 503;
    out.push(limit);
  }
  return out;
}

/** The zone's key as a template; undefined for the client address (Portico's default), null when not computable. */
function zoneKey(zone: Zone, ctx: AdaptContext, vs: ValueScope): string | undefined | null {
  if (zone.key === '$binary_remote_addr' || zone.key === '$remote_addr') return undefined;
  const t = template(ctx, vs, zone.d, zone.key, `${zone.d.name} key`);
  return t === undefined ? null : t;
}

/** `client` settings from the http level (Portico has one for every listener). */
export function clientOptions(http: Scope, ctx: AdaptContext): Record<string, unknown> {
  const servers = http.directives.filter((d) => d.name === 'server' && d.block).map((d) => ({ directives: d.block! }));
  const out: Record<string, unknown> = {};
  const map: [string, string][] = [
    ['client_header_timeout', 'header_timeout'],
    ['client_body_timeout', 'body_timeout'],
    ['send_timeout', 'send_timeout'],
    ['keepalive_timeout', 'keepalive_timeout'],
  ];
  for (const [directive, key] of map) {
    const d = own(http, directive)[0];
    if (d) {
      const ms = parseTime(d.args[0]!);
      if (ms === undefined) ctx.diag.error(d, `"${directive}" directive invalid value`);
      else out[key] = duration(ms);
    }
    for (const s of servers) {
      const inner = [...s.directives.filter((x) => x.name === directive), ...s.directives.filter((x) => x.name === 'location').flatMap((l) => (l.block ?? []).filter((x) => x.name === directive))];
      for (const i of inner) if (i.args[0] !== d?.args[0]) ctx.diag.warn(i, `${directive} per server or location is not carried over: Portico has one for all (${d?.args[0] ?? "nginx's default"})`);
    }
  }
  // nginx's default request body limit is 1m (Portico's own is 10MiB): kept, as nginx users count on it.
  out.max_body_size = own(http, 'client_max_body_size')[0]?.args[0] ?? BODY_SIZE_DEFAULT;
  return out;
}
