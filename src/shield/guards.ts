/**
 * The checks in front of a route's handler, composed once at compile time. A route with none
 * configured gets only the body-size check (one comparison); the others wrap the handler only
 * when their config key is present, so the default hot path carries no option checks.
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
 */
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { RouteConfig } from '../config/schema.js';
import type { AccessConfig, BasicAuthConfig } from '../config/shield-schema.js';
import type { Exchange } from '../http/exchange.js';
import type { RouteHandler } from '../handlers/handler.js';
import type { ErrorLog } from '../log/error-log.js';
import { applyHeaderOps, type HeaderOps } from '../http/header-ops.js';
import { compileTemplate, type Template } from '../http/template.js';
import { rejectRequest } from '../limits/discard.js';
import { responseHead } from '../http/head.js';
import { AccessList } from './access-list.js';
import { BasicAuth, loadUsers, type Outcome } from './basic-auth.js';
import type { PasswordChecks } from './password-checks.js';
import { REJECT, PASS } from './rate-limiter.js';
import type { Zones } from './zones.js';
import { recordDenial, type Denial } from '../metrics/stats.js';

type Refuse = (status: number, headers?: string[]) => void;
type Check = (ex: Exchange, pass: () => void, refuse: Refuse, gone: () => boolean) => void;

export function shieldRoute(route: RouteConfig, inner: RouteHandler, ops: HeaderOps, maxBodySize: number, zones: Zones, where: string, passwords: () => PasswordChecks, log?: ErrorLog): RouteHandler {
  let handler = inner;
  const gates = [gate(route.access, route.basic_auth, route.satisfy === 'any', passwords)];
  const except = route.limit_except;
  if (except) gates.push(gate(except.access ?? route.access, except.basic_auth ?? route.basic_auth, route.satisfy === 'any', passwords));
  const late = byMethod(gates.map((g) => g.late), except?.methods);
  if (late) handler = wrap(handler, ops, late, 'basic_auth');
  for (const limit of [...(route.limit_conn ?? [])].reverse()) handler = wrap(handler, ops, limitConnCheck(limit, zones, where, log), 'limit_conn');
  for (const limit of [...(route.limit_req ?? [])].reverse()) handler = wrap(handler, ops, limitReqCheck(limit, zones, where, log), 'limit_req');
  const early = byMethod(gates.map((g) => g.early), except?.methods);
  if (early) handler = wrap(handler, ops, early, 'access');
  return bodySizeGuard(handler, ops, maxBodySize);
}

/**
 * allow/deny and basic_auth of one set of methods: `early` runs before the limits, `late`
 * after them. satisfy any joins them into one late check when both are set.
 */
function gate(access: AccessConfig | undefined, auth: BasicAuthConfig | undefined, any: boolean, passwords: () => PasswordChecks): { early?: Check; late?: Check } {
  const user = auth ? basicAuthCheck(auth, passwords()) : undefined;
  if (!any || !access || !user) return { early: access ? accessCheck(access) : undefined, late: user };
  const list = new AccessList(access);
  return { late: (ex, pass, refuse, gone) => (list.allows(ex.clientIp) ? pass() : user(ex, pass, refuse, gone)) };
}

/** One check, or (with limit_except) the first for the listed methods and the second for the others. */
function byMethod(checks: (Check | undefined)[], listed: readonly string[] | undefined): Check | undefined {
  const [own, other] = checks;
  if (listed === undefined) return own;
  if (own === undefined && other === undefined) return undefined;
  // nginx: "Allowing the GET method makes the HEAD method also allowed."
  const methods = new Set(listed.includes('GET') ? [...listed, 'HEAD'] : listed);
  return (ex, pass, refuse, gone) => {
    const check = methods.has(ex.req.method ?? '') ? own : other;
    if (check === undefined) pass();
    else check(ex, pass, refuse, gone);
  };
}

function accessCheck(cfg: AccessConfig): Check {
  const list = new AccessList(cfg);
  return (ex, pass, refuse) => (list.allows(ex.clientIp) ? pass() : refuse(403));
}

function bodySizeGuard(inner: RouteHandler, ops: HeaderOps, max: number): RouteHandler {
  if (max === Infinity) return inner;
  const guarded: RouteHandler = {
    handle(ex) {
      if (ex.contentLength > max) rejectRequest(ex, 413, ops);
      else inner.handle(ex);
    },
  };
  if (inner.upgrade) guarded.upgrade = inner.upgrade; // a handshake has no body
  return guarded;
}

/** `kind`: what a refusal is counted as (portico_denials_total). */
function wrap(inner: RouteHandler, ops: HeaderOps, check: Check, kind: Denial): RouteHandler {
  const guarded: RouteHandler = {
    handle(ex) {
      check(
        ex,
        () => inner.handle(ex),
        (status, headers) => {
          recordDenial(kind);
          rejectRequest(ex, status, ops, headers);
        },
        () => ex.res.destroyed,
      );
    },
  };
  const upgrade = inner.upgrade;
  if (upgrade) {
    guarded.upgrade = (ex, socket, head) =>
      check(
        ex,
        () => upgrade(ex, socket, head),
        (status, headers) => {
          recordDenial(kind);
          refuseUpgrade(ex, socket, status, ops, headers);
        },
        () => socket.destroyed,
      );
  }
  return guarded;
}

/**
 * A refusal on a raw upgrade socket (the response object is detached from it by then),
 * written by the head serializer; a head it refuses (a route's header edit) becomes one log
 * line and the same refusal without the route's edits.
 */
function refuseUpgrade(ex: Exchange, socket: Duplex, status: number, ops: HeaderOps, extra?: string[]): void {
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  const headers = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length), ...(extra ?? [])];
  const reason = STATUS_CODES[status] ?? '';
  let head: string | undefined;
  try {
    head = responseHead(status, reason, [...(ops.empty ? headers : applyHeaderOps(ops, headers, ex)), 'Connection', 'close']);
  } catch (err) {
    ex.errorLog?.error('response head refused', { route: ex.routeName, status, method: ex.req.method, uri: ex.req.url, err: (err as Error)?.message });
    head = plainHead(status, reason, headers);
  }
  ex.res.statusCode = status; // for the access log
  if (head === undefined) socket.destroy();
  else if (socket.writable) socket.end(head + body);
}

function plainHead(status: number, reason: string, headers: string[]): string | undefined {
  try {
    return responseHead(status, reason, [...headers, 'Connection', 'close']);
  } catch {
    return undefined;
  }
}

function limitReqCheck(cfg: NonNullable<RouteConfig['limit_req']>[number], zones: Zones, where: string, log: ErrorLog | undefined): Check {
  const limiter = zones.rate(cfg, where);
  const key = keyOf(cfg.key);
  const burst = cfg.burst;
  const delay = cfg.nodelay ? Infinity : (cfg.delay ?? 0);
  const status = cfg.status;
  const dryRun = cfg.dry_run;
  return (ex, pass, refuse, gone) => {
    const k = key(ex);
    if (k === '') return pass(); // nginx: requests with an empty key are not accounted
    const wait = limiter.take(k, burst, delay);
    if (wait === PASS) return pass();
    if (dryRun) {
      // nginx: "limiting requests, dry run": counted as a real run would count it, never refused or delayed.
      if (wait === REJECT) log?.warn('limiting requests, dry run', { route: where, zone: cfg.zone, key: k });
      return pass();
    }
    if (wait === REJECT) return refuse(status, ['Retry-After', String(limiter.retryAfter(k, burst))]);
    setTimeout(() => {
      if (!gone()) pass();
    }, wait).unref();
  };
}

function limitConnCheck(cfg: NonNullable<RouteConfig['limit_conn']>[number], zones: Zones, where: string, log: ErrorLog | undefined): Check {
  const limiter = zones.conn(cfg, where);
  const key = keyOf(cfg.key);
  const { max, status } = cfg;
  const dryRun = cfg.dry_run;
  return (ex, pass, refuse) => {
    const k = key(ex);
    if (k === '') return pass();
    if (!limiter.acquire(k, max)) {
      if (!dryRun) return refuse(status);
      // nginx: "limiting connections, dry run": passes uncounted.
      log?.warn('limiting connections, dry run', { route: where, zone: cfg.zone, key: k });
      return pass();
    }
    // An upgrade counts while its tunnel is open, a request until its response is done.
    const h1 = ex.req.httpVersionMajor === 1;
    const socket = ex.req.socket;
    const release = () => {
      ex.res.off('close', release);
      if (h1) socket.off('close', release);
      limiter.release(k);
    };
    ex.res.once('close', release);
    if (h1) socket.once('close', release); // an upgrade's response object never closes
    pass();
  };
}

function basicAuthCheck(cfg: BasicAuthConfig, passwords: PasswordChecks): Check {
  const auth = new BasicAuth(loadUsers(cfg), cfg.realm, passwords);
  const challenge = ['WWW-Authenticate', auth.challenge];
  return (ex, pass, refuse, gone) => {
    const header = authorization(ex.req.rawHeaders);
    if (header === '') return refuse(401, challenge);
    const settle = (outcome: Outcome) => {
      if (gone()) return;
      if ('user' in outcome) {
        ex.remoteUser = outcome.user;
        return pass();
      }
      if (outcome.status === 401) return refuse(401, challenge);
      // 429: this address sent too many wrong credentials; 503: no capacity to check now.
      refuse(outcome.status, ['Retry-After', String(outcome.retryAfter)]);
    };
    const outcome = auth.check(header, ex.clientIp, gone);
    if (!(outcome instanceof Promise)) return settle(outcome);
    outcome.then(settle, () => {
      if (!gone()) refuse(503, ['Retry-After', '1']);
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
