/**
 * Validated config -> what the server runs: per listen address a host table, per virtual
 * host a location table, per route a ready handler. Everything a request would otherwise
 * look up in config objects is decided here, once.
 */
import type { PorticoConfig, RouteConfig, ServerConfig } from '../config/schema.js';
import { parseListen, type ListenAddress } from '../config/address.js';
import { parseLocation, type LocationSpec } from '../config/location-syntax.js';
import { ConfigError } from '../errors.js';
import { cidrMatcher, type CidrMatcher } from '../http/cidr.js';
import { HostTable } from './host-table.js';
import { LocationTable } from './location-table.js';
import type { RouteHandler } from '../http/route-handler.js';
import { NO_HEADER_OPS } from '../http/header-ops.js';
import type { ResponseFilter } from '../filters/filter.js';
import { upgradeSet } from '../proxy/upgrade-protocols.js';
import { buildHandler, type HandlerDeps, type HandlerOptions } from '../handlers/registry.js';
import { dirname, resolve } from 'node:path';
import { compileRouteChain } from './route-chain.js';
import { compileServerSteps } from './server-steps.js';
import { Zones } from '../shield/zones.js';
import { PasswordChecks } from '../shield/password-checks.js';
import { UpstreamPools } from '../upstream/pool.js';
import { UpstreamGroups, type UpstreamDeps } from '../upstream/groups.js';
import type { Exchange } from '../http/exchange.js';
import { compileRouteMatch } from './route-match.js';
import type { Rewrites } from './rewrite.js';
import { compileMaps, type CompiledMaps } from './maps.js';
import type { ErrorLog } from '../log/error-log.js';
import { planTls, hstsValue, HTTP01_PREFIX, type TlsSite } from './tls-plan.js';
import { SpoolBudget, type SpoolBudgetLimits } from '../buffering/spool-budget.js';
import { accessSync, statSync, constants as fsConstants } from 'node:fs';
import { tmpdir } from 'node:os';
import { CacheZones, type PreparedZones } from '../cache/zones.js';
import { resolveDataDir } from '../config/data-dir.js';
import { cacheProblems } from './cache-checks.js';

export interface Route {
  readonly name: string;
  /** Guards and handler, composed (route-chain.ts). */
  readonly handler: RouteHandler;
  /** The route's response filters, wrapped around a request's writer when the route is chosen; null: none. */
  readonly filter: ResponseFilter | null;
  /** Route-level rewrites, run once the route is chosen. */
  readonly rewrites?: Rewrites | undefined;
  /** false: the route's requests are not logged. */
  readonly accessLog?: boolean;
  /** Upgrade protocols the route tunnels (its proxy's or files fallback's `upgrade`, lower-cased); none without a proxy. */
  readonly upgrade?: ReadonlySet<string> | undefined;
  /** nginx `internal`: only a rewrite may lead here; a request that reaches it directly gets 404. */
  readonly internal?: boolean;
}

export interface VirtualHost {
  readonly name: string;
  readonly trustedProxies: CidrMatcher;
  /** Keep header fields whose names contain "_" (`underscores_in_headers`); else dispatch drops them. */
  readonly underscoresInHeaders?: boolean;
  readonly locations: LocationTable<Route, Exchange>;
  /** Server-level rewrites, run before a route is chosen. */
  readonly rewrites?: Rewrites | undefined;
}

export interface ListenerPlan {
  readonly address: ListenAddress;
  /** "127.0.0.1:8080" or "*:8080". */
  readonly key: string;
  readonly hosts: HostTable<VirtualHost>;
  /** HTTPS: the TLS servers on this address, the default one first. undefined: plain HTTP. */
  readonly tls: readonly TlsSite[] | undefined;
  /** The config's `maps`, for {map.NAME}. */
  readonly maps?: CompiledMaps;
}

export interface CompiledConfig {
  readonly listeners: readonly ListenerPlan[];
  readonly pools: UpstreamPools;
  /** Every TLS server, in config order. */
  readonly tlsSites: readonly TlsSite[];
  /** Load-balanced pools: `start()` their health checks when serving, `close()` when done. */
  readonly groups: UpstreamGroups;
  /** `temp_files`, for SpoolBudget.configure() once this config is the one served. */
  readonly tempFiles: SpoolBudgetLimits;
  /** The response cache's zones, for CacheZones.activate() once this config is the one served. */
  readonly cache: PreparedZones;
}

interface PlanDraft {
  address: ListenAddress;
  hosts: HostTable<VirtualHost>;
  catchAll?: string;
  explicitDefault?: string;
  tls?: TlsSite[];
  plain?: string;
  /** The server whose `unknown_host` replaced the default server, and its policy. */
  unknownHost?: { where: string; policy: string };
}

export interface CompileDeps {
  log: ErrorLog;
  /** Where relative `files` directories and `tls.ca` files resolve; default: the config file's directory. */
  baseDir?: string;
  /** Tests: a fake clock, a private host-state or health-check registry, a seeded random. */
  upstream?: Partial<Pick<UpstreamDeps, 'clock' | 'hosts' | 'checkers' | 'policy'>>;
  /** Clock of the rate limiters (tests inject one). */
  now?: () => number;
  /**
   * The basic_auth verifier threads and failure counts of the running server (kept across
   * reloads; server.ts closes them). Without it a config gets its own, whose threads start
   * only if a password is ever checked.
   */
  passwords?: PasswordChecks;
  /**
   * The process's temp-file budget, which outlives a reload (reservations of responses in
   * flight stay in it); default: a new one with this config's limits.
   */
  spool?: SpoolBudget;
  /** The process's cache zones, which outlive a reload (their indexes); default: new ones. */
  cache?: CacheZones;
  /** Where zones without an absolute path live; default resolveDataDir(config.data_dir). */
  dataDir?: string;
}

/** What every route needs from the config's top level. */
interface Shared {
  deps: CompileDeps;
  pools: UpstreamPools;
  groups: UpstreamGroups;
  zones: Zones;
  client: PorticoConfig['client'];
  /** Made on first use: a config without basic_auth makes none. */
  passwords: () => PasswordChecks;
  spool: SpoolBudget;
  cacheZones: PreparedZones;
}

export function compile(config: PorticoConfig, deps: CompileDeps, file = 'config'): CompiledConfig {
  const problems: string[] = [];
  const maps = compileMaps(config.maps);
  const pools = new UpstreamPools(deps.log);
  deps = { ...deps, baseDir: deps.baseDir ?? resolve(dirname(file)) };
  const groups = new UpstreamGroups(config.upstreams, { ...deps.upstream, log: deps.log, baseDir: deps.baseDir! }, file);
  const plans = new Map<string, PlanDraft>();
  const planFor = (address: ListenAddress, own?: string): [string, PlanDraft] => {
    // Port 0 (tests) means "any free port": a redirect listener asking for it gets its own.
    const key = `${address.host ?? '*'}:${address.port}${own && address.port === 0 ? ` (${own})` : ''}`;
    let plan = plans.get(key);
    if (!plan) {
      plan = { address, hosts: new HostTable<VirtualHost>() };
      plans.set(key, plan);
    }
    return [key, plan];
  };
  const tlsSites: TlsSite[] = [];
  const tlsProblems: string[] = [];
  let passwords = deps.passwords;
  const tempFiles = tempFilesLimits(config.temp_files, deps.baseDir!, file, problems);
  const spool = deps.spool ?? new SpoolBudget(tempFiles);
  const cacheZones = (deps.cache ?? new CacheZones(deps.log)).prepare(config.cache, deps.dataDir ?? resolveDataDir(config.data_dir), file, problems);
  problems.push(...cacheProblems(config, file));
  const shared: Shared = {
    deps,
    pools,
    groups,
    zones: new Zones(deps.now),
    client: config.client,
    passwords: () => (passwords ??= new PasswordChecks(config.password_checks, deps.now)),
    spool,
    cacheZones,
  };

  config.servers.forEach((server, si) => {
    const where = `servers[${si}]`;
    const site = planTls(server, where, config, tlsProblems, deps.baseDir);
    if (site) tlsSites.push(site);
    const hsts = site ? hstsValue(server) : undefined;
    const vhost: VirtualHost = {
      name: server.hosts?.[0] ?? where,
      trustedProxies: cidrMatcher(server.trusted_proxies),
      underscoresInHeaders: server.underscores_in_headers,
      locations: new LocationTable<Route, Exchange>(),
      rewrites: undefined,
    };
    // A server's own answers (a `return` in its steps, a client certificate refused) go
    // through the filters of the route the request would reach.
    const locations = vhost.locations;
    const filterFor = (ex: Exchange) => {
      const found = locations.match(ex.path, ex);
      return found !== undefined && 'route' in found ? found.route.filter : null;
    };
    (vhost as { rewrites?: Rewrites }).rewrites = compileServerSteps(server.rewrite, site?.clientAuth, filterFor);
    server.routes.forEach((route, ri) => {
      const spec = parseLocation(route.path) as LocationSpec; // validated by the schema
      let compiled: Route;
      try {
        // A route without its own `compress` takes its server's (config/compress-schema.ts).
        const withCompress = route.compress === undefined && server.compress !== undefined ? { ...route, compress: server.compress } : route;
        compiled = compileRoute(withHsts(withCompress, hsts), spec, `${where}.routes[${ri}] ${route.path}`, shared);
      } catch (err) {
        problems.push(`${file}: ${where}.routes[${ri}]: ${(err as Error).message}`);
        return;
      }
      const err = vhost.locations.add(spec, compiled, route.proxy !== undefined, compileRouteMatch(route.match));
      if (err) problems.push(`${file}: ${where}.routes[${ri}].path: ${err}`);
    });
    for (const text of listOf(server.listen)) {
      const [key, plan] = planFor(parseListen(text)!);
      // One address speaks either TLS or plain HTTP: the first bytes decide nothing in Portico.
      if (site) {
        if (plan.plain) problems.push(`${file}: ${where}.listen: ${key} is plain HTTP for ${plan.plain}; a TLS server needs its own address`);
        (plan.tls ??= []).push(site);
        if (server.default) plan.tls.unshift(plan.tls.pop()!);
      } else {
        if (plan.tls) problems.push(`${file}: ${where}.listen: ${key} is HTTPS for ${plan.tls[0]!.where}; give this server 'tls' too or another address`);
        plan.plain ??= where;
      }
      addServerNames(plan, server, vhost, where, key, file, problems);
      addUnknownHostPolicy(plan, server, where, key, file, problems);
    }
  });
  problems.push(...tlsProblems.map((p) => `${file}: ${p}`));
  // Redirect hosts come last, so a server the config defines on the same address and name wins.
  for (const site of tlsSites) {
    for (const address of site.redirectFrom) {
      const [key, plan] = planFor(address, `${site.where}.http_redirect`);
      if (plan.tls) {
        problems.push(`${file}: ${site.where}.http_redirect: ${key} is an HTTPS address; redirect from a plain HTTP one`);
        continue;
      }
      plan.plain ??= `${site.where}.http_redirect`;
      addRedirectHost(plan, site, shared);
    }
  }

  for (const [key, plan] of plans) applyUnknownHostPolicy(plan, key, file, problems, shared);
  problems.push(...shared.zones.problems.map((p) => `${file}: ${p}`));
  checkOverlaps([...plans.keys()], file, problems);
  problems.push(...groups.problems);
  if (problems.length > 0) {
    pools.destroy();
    groups.close();
    throw new ConfigError(problems);
  }
  return {
    listeners: [...plans.entries()].map(([key, p]) => ({ key, address: p.address, hosts: p.hosts, tls: p.tls, maps })),
    pools,
    tlsSites,
    groups,
    tempFiles,
    cache: cacheZones,
  };
}

function addRedirectHost(plan: PlanDraft, site: TlsSite, shared: Shared): void {
  const locations = new LocationTable<Route, Exchange>();
  const name = `${site.where} http->https`;
  locations.add({ kind: 'prefix', path: '/', noRegex: false }, ownRoute(name, 'https-redirect', site.httpsPort, shared), false);
  // ACME HTTP-01 validation must not be redirected (pending tokens are answered before routing).
  locations.add({ kind: 'prefix', path: HTTP01_PREFIX, noRegex: true }, ownRoute(`${name} acme`, 'error', 404, shared), false);
  const vhost: VirtualHost = { name, trustedProxies: cidrMatcher([]), locations };
  if (site.hosts.length === 0) {
    if (plan.catchAll) return;
    plan.catchAll = name;
    if (!plan.explicitDefault) plan.hosts.setDefault(vhost);
    return;
  }
  for (const host of site.hosts) plan.hosts.add(host, vhost); // a name already taken stays with its server
  if (!plan.hosts.defaultServer) plan.hosts.setDefault(vhost);
}

/** HSTS is one more response header of every route of the server (RFC 6797 §7.1: HTTPS only). */
function withHsts(route: RouteConfig, hsts: string | undefined): RouteConfig {
  if (hsts === undefined) return route;
  const ops = route.response_headers ?? {};
  if (Object.keys(ops.set ?? {}).some((n) => n.toLowerCase() === 'strict-transport-security')) return route;
  return { ...route, response_headers: { ...ops, set: { 'Strict-Transport-Security': hsts, ...ops.set } } };
}

function listOf<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

function addServerNames(
  plan: PlanDraft,
  server: ServerConfig,
  vhost: VirtualHost,
  where: string,
  key: string,
  file: string,
  problems: string[],
): void {
  // nginx: the first server on an address is its default, unless one says `default`.
  if (server.default) {
    if (plan.explicitDefault) problems.push(`${file}: ${where}.default: ${plan.explicitDefault} is already the default server for ${key}`);
    plan.explicitDefault = where;
    plan.hosts.setDefault(vhost);
  } else if (!plan.hosts.defaultServer) {
    plan.hosts.setDefault(vhost);
  }
  if (!server.hosts || server.hosts.length === 0) {
    // A server without hosts answers any host on its addresses.
    if (plan.catchAll) problems.push(`${file}: ${where}: ${plan.catchAll} already answers every host on ${key}; give one of them 'hosts'`);
    plan.catchAll = where;
    if (!plan.explicitDefault) plan.hosts.setDefault(vhost);
    return;
  }
  server.hosts.forEach((name, hi) => {
    const err = plan.hosts.add(name, vhost);
    if (err) problems.push(`${file}: ${where}.hosts[${hi}]: ${err} (${key})`);
  });
}

/**
 * `unknown_host: close | 421`: a request whose Host matches no server on the address is
 * answered by a synthetic default server instead of the first (nginx's catch-all
 * `server { listen 80 default_server; return 444; }`). It conflicts with a server that
 * answers any host or is marked `default`, which would also claim those requests.
 */
function addUnknownHostPolicy(plan: PlanDraft, server: ServerConfig, where: string, key: string, file: string, problems: string[]): void {
  const policy = server.unknown_host;
  if (policy === 'default') return;
  const text = String(policy);
  if (plan.unknownHost && plan.unknownHost.policy !== text)
    problems.push(`${file}: ${where}.unknown_host: ${plan.unknownHost.where} says '${plan.unknownHost.policy}' for ${key}; use one policy per address`);
  plan.unknownHost ??= { where, policy: text };
}

/** Once every server is known: the unknown-host policy becomes the address's default server. */
function applyUnknownHostPolicy(plan: PlanDraft, key: string, file: string, problems: string[], shared: Shared): void {
  const policy = plan.unknownHost;
  if (!policy) return;
  const other = plan.catchAll ?? plan.explicitDefault;
  if (other) {
    const why = plan.catchAll ? 'it has no hosts' : 'default: true';
    problems.push(`${file}: ${policy.where}.unknown_host: ${other} already answers unknown hosts on ${key} (${why}); remove one of them`);
    return;
  }
  const name = `${policy.where}.unknown_host`;
  const route = policy.policy === 'close' ? ownRoute(name, 'close', null, shared) : ownRoute(name, 'error', 421, shared);
  const locations = new LocationTable<Route, Exchange>();
  locations.add({ kind: 'prefix', path: '/', noRegex: false }, route, false);
  plan.hosts.setDefault({ name, trustedProxies: cidrMatcher([]), locations });
}

/** A route Portico makes itself: a handler by name, no guards, no filters. */
function ownRoute<K extends 'https-redirect' | 'error' | 'close'>(name: string, handler: K, options: HandlerOptions[K], shared: Shared): Route {
  const ctx = { name, requestHeaders: NO_HEADER_OPS, stripPrefix: undefined, maxBodySize: Infinity, client: { bodyTimeout: 0, sendTimeout: 0 } };
  return { name, handler: buildHandler(handler, options, ctx, handlerDeps(shared, { kind: 'prefix', path: '/', noRegex: false })), filter: null };
}

/** `temp_files` with its directory resolved; a directory Portico cannot write to refuses the config (a limit never fails open). */
function tempFilesLimits(cfg: PorticoConfig['temp_files'], baseDir: string, file: string, problems: string[]): SpoolBudgetLimits {
  const dir = cfg.dir === undefined ? tmpdir() : resolve(baseDir, cfg.dir);
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch (err) {
    problems.push(`${file}: temp_files.dir: cannot create temp files in ${dir}: ${(err as Error).message}`);
  }
  return { total: cfg.max_total_size, perConnection: cfg.max_connection_size, dir };
}

/** "*:8080" and "127.0.0.1:8080" cannot both be bound. */
function checkOverlaps(keys: string[], file: string, problems: string[]): void {
  const wildcardPorts = new Set(keys.filter((k) => k.startsWith('*:')).map((k) => k.slice(2)));
  for (const key of keys) {
    const port = key.slice(key.lastIndexOf(':') + 1);
    if (!key.startsWith('*:') && wildcardPorts.has(port) && port !== '0')
      problems.push(`${file}: listen ${key} overlaps ':${port}' (every address); use the same listen address in both servers`);
  }
}

function handlerDeps(shared: Shared, spec: LocationSpec): HandlerDeps {
  const { pools, groups, spool } = shared;
  return { pools, groups, spool, log: shared.deps.log, baseDir: shared.deps.baseDir!, spec };
}

function compileRoute(route: RouteConfig, spec: LocationSpec, name: string, shared: Shared): Route {
  const { handler, filter, rewrites } = compileRouteChain(route, spec, name, {
    handlers: handlerDeps(shared, spec),
    guards: { zones: shared.zones, passwords: shared.passwords, log: shared.deps.log },
    client: { maxBodySize: shared.client.max_body_size, bodyTimeout: shared.client.body_timeout, sendTimeout: shared.client.send_timeout },
    cacheZones: shared.cacheZones,
  });
  const proxy = route.proxy ?? route.files?.fallback?.proxy;
  const upgrade = proxy ? upgradeSet(proxy.upgrade) : undefined;
  const compiled: Route = { name, handler, filter, rewrites, accessLog: route.access_log !== false, upgrade };
  return route.internal ? { ...compiled, internal: true } : compiled;
}
