/**
 * Every handler a route can have, by name, each a factory that builds it once per route when
 * the config is compiled (STYLE rule 4: strategies looked up by name). The compiler picks the
 * name from the route's config (routeHandlerName) or, for the routes it makes itself, by name
 * (the HTTP->HTTPS redirect, the unknown-host answers, the ACME prefix's 404).
 */
import type { FilesConfig, ProxyConfig, RouteConfig } from '../config/schema.js';
import type { LocationSpec } from '../config/location-syntax.js';
import type { RouteHandler } from '../http/route-handler.js';
import type { ErrorLog } from '../log/error-log.js';
import type { UpstreamPools } from '../upstream/pool.js';
import type { UpstreamGroups } from '../upstream/groups.js';
import type { SpoolBudget } from '../buffering/spool-budget.js';
import { sendError } from '../http/send.js';
import type { RouteContext } from './handler.js';
import { proxyHandler } from './proxy.js';
import { filesHandler } from './files.js';
import { respondHandler } from './respond.js';
import { redirectHandler } from './redirect.js';
import { closeHandler } from './close.js';
import { httpsRedirectHandler } from './https-redirect.js';
import { stubStatusHandler } from './stub-status.js';

/** What the compiler hands every factory (a factory takes what it needs). */
export interface HandlerDeps {
  pools: UpstreamPools;
  groups: UpstreamGroups;
  log: ErrorLog;
  /** The process's temp-file budget (`temp_files`). */
  spool: SpoolBudget;
  /** The route's location (files: alias replaces its prefix). */
  spec: LocationSpec;
  /** Where relative `files` directories resolve. */
  baseDir: string;
}

/** Each handler's own options. */
export interface HandlerOptions {
  proxy: ProxyConfig;
  files: FilesConfig;
  respond: NonNullable<RouteConfig['respond']>;
  redirect: NonNullable<RouteConfig['redirect']>;
  /** nginx's `return 444`: nothing to configure. */
  close: null;
  /** nginx's stub_status page: nothing to configure. */
  'stub-status': null;
  /** The HTTPS port redirected to (filled in once a port-0 listener is bound). */
  'https-redirect': { readonly port: number };
  /** A plain error page with this status (Portico's own routes: 404, 421). */
  error: number;
}

export type HandlerName = keyof HandlerOptions;
type Factory<O> = (options: O, ctx: RouteContext, deps: HandlerDeps) => RouteHandler;

const HANDLERS: { readonly [K in HandlerName]: Factory<HandlerOptions[K]> } = {
  proxy: (cfg, ctx, deps) => proxyHandler(cfg, ctx, deps),
  files: (cfg, ctx, deps) => filesHandler(cfg, ctx, deps),
  respond: (cfg) => respondHandler(cfg),
  redirect: (cfg) => redirectHandler(cfg),
  close: () => closeHandler(),
  'stub-status': () => stubStatusHandler(),
  'https-redirect': (port) => httpsRedirectHandler(port),
  error: (status) => ({ handle: (ex) => sendError(ex, status) }),
};

export function buildHandler<K extends HandlerName>(name: K, options: HandlerOptions[K], ctx: RouteContext, deps: HandlerDeps): RouteHandler {
  const factory: Factory<HandlerOptions[K]> = HANDLERS[name];
  return factory(options, ctx, deps);
}

/** The handler a route's config names (the schema allows exactly one of these keys). */
export function routeHandler(route: RouteConfig, ctx: RouteContext, deps: HandlerDeps): RouteHandler {
  if (route.proxy) return buildHandler('proxy', route.proxy, ctx, deps);
  if (route.files) return buildHandler('files', route.files, ctx, deps);
  if (route.respond?.close) return buildHandler('close', null, ctx, deps);
  if (route.respond) return buildHandler('respond', route.respond, ctx, deps);
  if (route.stub_status) return buildHandler('stub-status', null, ctx, deps);
  return buildHandler('redirect', route.redirect!, ctx, deps);
}
