/**
 * The checks in front of a route's handler, made once at compile time as a list of guards
 * that src/handlers/compose.ts chains in front of the handler. A route with none configured
 * gets only the body-size check (one comparison); the others are there only when their config
 * key is present, so the default hot path carries no option checks.
 *
 * Order, cheapest and most decisive first, so a refused request costs little:
 *   1. max_body_size  413 when Content-Length says too much, before any body byte is read
 *   2. access         403 for a client IP the allow/deny rules refuse
 *   3. limit_req      429 (configurable) beyond rate + burst, or a delay within the burst
 *   4. limit_conn     429 (configurable) beyond the requests in progress per key
 *   5. basic_auth     401; 429 after too many wrong credentials from the address, 503 when the
 *                     verifier threads' queue is full (bcrypt's cost is paid only by requests
 *                     that passed the limits, and never on the event loop)
 *   6. the handler
 * nginx runs limit_req/limit_conn (preaccess) before allow/deny and auth_basic (access) too;
 * here allow/deny comes first because a denied address should not use up anyone's rate.
 * With `satisfy: any` (nginx satisfy any) access and basic_auth are one check at step 5: an
 * allowed address passes without credentials, any other needs them (401, as nginx answers when
 * both refuse). With `limit_except` (nginx limit_except), a method it does not list meets its
 * access and basic_auth instead of the route's; the limits count every method alike.
 * A `dry_run` limit counts as usual but lets the request through at once, with a warning.
 * Upgrade requests (WebSocket handshakes) meet the same checks but the body size (they have
 * none), refused on their raw socket (src/http/socket-writer.ts) through the same writer.
 */
import type { RouteConfig } from '../config/schema.js';
import type { AccessConfig, BasicAuthConfig } from '../config/shield-schema.js';
import type { Exchange } from '../http/exchange.js';
import type { Guard, Next } from '../http/route-handler.js';
import type { ErrorLog } from '../log/error-log.js';
import { compileTemplate, type Template } from '../http/template.js';
import { rejectRequest } from '../limits/discard.js';
import { AccessList } from './access-list.js';
import { BasicAuth, loadUsers, type Outcome } from './basic-auth.js';
import type { PasswordChecks } from './password-checks.js';
import { REJECT, PASS } from './rate-limiter.js';
import type { Zones } from './zones.js';
import { recordDenial, type Denial } from '../metrics/stats.js';

type Check = (ex: Exchange, next: Next) => void;

export interface GuardDeps {
  zones: Zones;
  /** The route, for logs and zone errors ("servers[0].routes[1] /api/"). */
  where: string;
  /** Made on first use: a config without basic_auth starts no verifier threads. */
  passwords: () => PasswordChecks;
  log?: ErrorLog;
}

/** The route's guards, in the order above. */
export function routeGuards(route: RouteConfig, maxBodySize: number, deps: GuardDeps): Guard[] {
  const { zones, where, passwords, log } = deps;
  const gates = [gate(route.access, route.basic_auth, route.satisfy === 'any', passwords)];
  const except = route.limit_except;
  if (except) gates.push(gate(except.access ?? route.access, except.basic_auth ?? route.basic_auth, route.satisfy === 'any', passwords));
  const early = byMethod(gates.map((g) => g.early), except?.methods);
  const late = byMethod(gates.map((g) => g.late), except?.methods);
  const guards: Guard[] = [];
  if (maxBodySize !== Infinity) guards.push({ name: 'max_body_size', upgrades: false, check: bodySizeCheck(maxBodySize) });
  if (early) guards.push({ name: 'access', upgrades: true, check: early });
  for (const limit of route.limit_req ?? []) guards.push({ name: `limit_req zone=${limit.zone}`, upgrades: true, check: limitReqCheck(limit, zones, where, log) });
  for (const limit of route.limit_conn ?? []) guards.push({ name: `limit_conn zone=${limit.zone}`, upgrades: true, check: limitConnCheck(limit, zones, where, log) });
  if (late) guards.push({ name: 'basic_auth', upgrades: true, check: late });
  return guards;
}

/**
 * The request is answered here (the rest of its body, if any, is discarded). `denial`: what
 * the refusal is counted as (portico_denials_total); null for a body too large.
 */
function refuse(ex: Exchange, status: number, denial: Denial | null, headers?: readonly string[]): void {
  if (denial !== null) recordDenial(denial);
  rejectRequest(ex, status, headers);
}

/** The client went away while a check waited (a limit_req delay, a password check). */
function gone(ex: Exchange): boolean {
  return ex.writer.destroyed;
}

/**
 * allow/deny and basic_auth of one set of methods: `early` runs before the limits, `late`
 * after them. satisfy any joins them into one late check when both are set.
 */
function gate(access: AccessConfig | undefined, auth: BasicAuthConfig | undefined, any: boolean, passwords: () => PasswordChecks): { early?: Check; late?: Check } {
  const user = auth ? basicAuthCheck(auth, passwords()) : undefined;
  if (!any || !access || !user) return { early: access ? accessCheck(access) : undefined, late: user };
  const list = new AccessList(access);
  return { late: (ex, next) => (list.allows(ex.clientIp) ? next(ex) : user(ex, next)) };
}

/** One check, or (with limit_except) the first for the listed methods and the second for the others. */
function byMethod(checks: (Check | undefined)[], listed: readonly string[] | undefined): Check | undefined {
  const [own, other] = checks;
  if (listed === undefined) return own;
  if (own === undefined && other === undefined) return undefined;
  // nginx: "Allowing the GET method makes the HEAD method also allowed."
  const methods = new Set(listed.includes('GET') ? [...listed, 'HEAD'] : listed);
  return (ex, next) => {
    const check = methods.has(ex.req.method ?? '') ? own : other;
    if (check === undefined) next(ex);
    else check(ex, next);
  };
}

function bodySizeCheck(max: number): Check {
  return (ex, next) => {
    if (ex.contentLength > max) refuse(ex, 413, null);
    else next(ex);
  };
}

function accessCheck(cfg: AccessConfig): Check {
  const list = new AccessList(cfg);
  return (ex, next) => (list.allows(ex.clientIp) ? next(ex) : refuse(ex, 403, 'access'));
}

function limitReqCheck(cfg: NonNullable<RouteConfig['limit_req']>[number], zones: Zones, where: string, log: ErrorLog | undefined): Check {
  const limiter = zones.rate(cfg, where);
  const key = keyOf(cfg.key);
  const burst = cfg.burst;
  const delay = cfg.nodelay ? Infinity : (cfg.delay ?? 0);
  const status = cfg.status;
  const dryRun = cfg.dry_run;
  return (ex, next) => {
    const k = key(ex);
    if (k === '') return next(ex); // nginx: requests with an empty key are not accounted
    const wait = limiter.take(k, burst, delay);
    if (wait === PASS) return next(ex);
    if (dryRun) {
      // nginx: "limiting requests, dry run": counted as a real run would count it, never refused or delayed.
      if (wait === REJECT) log?.warn('limiting requests, dry run', { route: where, zone: cfg.zone, key: k });
      return next(ex);
    }
    if (wait === REJECT) return refuse(ex, status, 'limit_req', ['Retry-After', String(limiter.retryAfter(k, burst))]);
    setTimeout(() => {
      if (!gone(ex)) next(ex);
    }, wait).unref();
  };
}

function limitConnCheck(cfg: NonNullable<RouteConfig['limit_conn']>[number], zones: Zones, where: string, log: ErrorLog | undefined): Check {
  const limiter = zones.conn(cfg, where);
  const key = keyOf(cfg.key);
  const { max, status } = cfg;
  const dryRun = cfg.dry_run;
  return (ex, next) => {
    const k = key(ex);
    if (k === '') return next(ex);
    if (!limiter.acquire(k, max)) {
      if (!dryRun) return refuse(ex, status, 'limit_conn');
      // nginx: "limiting connections, dry run": passes uncounted.
      log?.warn('limiting connections, dry run', { route: where, zone: cfg.zone, key: k });
      return next(ex);
    }
    // A request counts until its response is over, an upgrade while its tunnel is open (its
    // writer is the socket's: src/http/socket-writer.ts).
    ex.writer.onClose(() => limiter.release(k));
    next(ex);
  };
}

function basicAuthCheck(cfg: BasicAuthConfig, passwords: PasswordChecks): Check {
  const auth = new BasicAuth(loadUsers(cfg), cfg.realm, passwords);
  const challenge = ['WWW-Authenticate', auth.challenge];
  return (ex, next) => {
    const header = authorization(ex.req.rawHeaders);
    if (header === '') return refuse(ex, 401, 'basic_auth', challenge);
    const settle = (outcome: Outcome) => {
      if (gone(ex)) return;
      if ('user' in outcome) {
        ex.remoteUser = outcome.user;
        return next(ex);
      }
      if (outcome.status === 401) return refuse(ex, 401, 'basic_auth', challenge);
      // 429: this address sent too many wrong credentials; 503: no capacity to check now.
      refuse(ex, outcome.status, 'basic_auth', ['Retry-After', String(outcome.retryAfter)]);
    };
    const outcome = auth.check(header, ex.clientIp, () => gone(ex));
    if (!(outcome instanceof Promise)) return settle(outcome);
    outcome.then(settle, () => {
      if (!gone(ex)) refuse(ex, 503, 'basic_auth', ['Retry-After', '1']);
    });
  };
}

function authorization(raw: readonly string[]): string {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') return raw[i + 1]!;
  return '';
}

function keyOf(template: string): Template {
  if (template === '{client_ip}') return (ex) => ex.clientIp;
  if (template === '{remote_ip}') return (ex) => ex.peerIp;
  return compileTemplate(template);
}
