/**
 * A running Portico: the node servers of every listen address (server/listeners.ts), sharing
 * the compiled routes, the TLS runtime when a server uses HTTPS, and a graceful stop (stop
 * accepting, let requests in flight finish within `shutdown_timeout`, then close what is left).
 */
// First: V8's regex engines are set up before any regex of the config is compiled.
import '../regex/engine.js';
import type { Duplex } from 'node:stream';
import type { PorticoConfig } from '../config/schema.js';
import { compile, type CompileDeps, type CompiledConfig } from '../compile/compile.js';
import type { DispatchDeps } from './dispatch.js';
import { AccessLog } from '../log/access-log.js';
import { ErrorLog, errorLogFor } from '../log/error-log.js';
import { httpListener, tlsListener, type Listener } from './listeners.js';
import { TlsRuntime } from '../tls/runtime.js';
import { resolveDataDir } from '../tls/data-dir.js';
import { ConfigError } from '../errors.js';
import { restartOnlyChange } from './reload-scope.js';
import { PasswordChecks } from '../shield/password-checks.js';
import { SpoolBudget } from '../buffering/spool-budget.js';
import { withRequestIds } from '../log/request-id-config.js';
import cluster from 'node:cluster';
import { isDeepStrictEqual } from 'node:util';
import { loadConfigFile, type LoadOptions } from '../config/load.js';
import { startAdmin, type AdminListener } from '../admin/listener.js';
import { localBackend, type LocalParts, type ReloadOutcome } from '../admin/backend.js';
import { answerPrimary } from '../admin/cluster.js';
import { porticoVersion } from '../admin/api.js';
import type { ProcessView } from '../metrics/snapshot.js';
import { CacheZones } from '../cache/zones.js';

export interface StartOptions {
  /** Defaults to a pino logger on stderr at the config's log_level. */
  errorLog?: ErrorLog;
  /** Overrides the config's access_log (tests pass `false`). */
  accessLog?: AccessLog | false;
  /** Name of the config file, for error messages. */
  file?: string;
  /** The clock certificates are issued and renewed by (tests move it forward). */
  now?: () => number;
  /** Tests: a fake clock and private registries for the upstream pools. */
  upstream?: CompileDeps['upstream'];
  /**
   * Runs once every address is bound and every certificate read, before any connection is
   * served (those accepted meanwhile wait): `portico run` drops root here (`user`). A throw
   * stops the start.
   */
  beforeServing?: () => void | Promise<void>;
  /** How `file` is read again by the admin API's POST /reload (adapter, nginx prefix). */
  load?: LoadOptions;
}

export interface BoundAddress {
  /** The listen key from the config ("*:8080"). */
  key: string;
  host: string;
  port: number;
  /** Whether the address serves HTTPS. */
  tls: boolean;
}

export interface PorticoServer {
  readonly addresses: readonly BoundAddress[];
  /** The TLS runtime (certificates, local CA), when a server uses HTTPS. */
  readonly tls: TlsRuntime | undefined;
  /**
   * Serves `next` from now on: new requests get its routes and pools, requests in flight
   * finish on the old ones. Throws a ConfigError (and changes nothing) when `next` does not
   * compile or changes what needs a restart (reload-scope.ts).
   */
  reload(next: PorticoConfig): void;
  /** Opens the log files again by their paths (SIGUSR1, after logrotate renamed them). */
  reopenLogs(): void;
  /** Graceful stop; resolves when everything is closed. */
  close(): Promise<void>;
  /** The temp-file budget (`temp_files`): what is on disk now, for tests and metrics. */
  readonly spool: SpoolBudget;
  /** This server's open upgrade sockets (WebSocket tunnels), for tests and metrics; close() destroys them. */
  readonly tunnels: ReadonlySet<Duplex>;
  /** The admin listener (src/admin/), when it runs in this process. */
  readonly admin: AdminListener | undefined;
  /** Reads the config file again and serves it (the admin API's POST /reload; SIGHUP's rules). */
  reloadFile(): Promise<ReloadOutcome>;
  /** The response cache's zones (indexes kept across reloads); purge through src/cache/purge.ts. */
  readonly cache: CacheZones;
}

export async function startServer(initial: PorticoConfig, options: StartOptions = {}): Promise<PorticoServer> {
  let config = initial;
  const errorLog = options.errorLog ?? errorLogFor(config, options.file);
  // Every access log of the config (top level, servers, routes), or the one a test gives.
  const accessLog = options.accessLog === false ? undefined : (options.accessLog ?? AccessLog.fromConfig(config, options.file));
  const ownAccessLog = options.accessLog === undefined;
  // basic_auth's verifier threads (started by the first check) and failure counts: one set per
  // server, kept across reloads ('password_checks' itself needs a restart).
  const passwords = new PasswordChecks(config.password_checks);
  // One temp-file budget for the life of the process: a reload changes its limits, and the
  // bytes of responses still in flight stay counted.
  const spool = new SpoolBudget();
  // The cache's zones live as long as the server: a reload keeps their indexes.
  const cache = new CacheZones(errorLog);
  const compileDeps = { log: errorLog, upstream: options.upstream, passwords, spool, cache, dataDir: resolveDataDir(config.data_dir) };
  let compiled: CompiledConfig = compile(withRequestIds(config), compileDeps, options.file);
  spool.configure(compiled.tempFiles);
  /** Configs replaced by a reload whose pools still have connections (requests in flight), for close(). */
  let retired: CompiledConfig[] = [];
  const inFlight: DispatchDeps['inFlight'] = { count: 0, onIdle: null };
  const limits = { maxHeaders: config.client.max_headers, maxUriLength: config.client.max_uri_length };
  // Upgrade sockets handed to handlers, this server's own: closing it closes them and no others.
  const tunnels = new Set<Duplex>();
  const deps = { accessLog, errorLog, inFlight, limits, client: config.client, tunnels };
  let tls: TlsRuntime | undefined;
  const listeners: Listener[] = [];
  const addresses: BoundAddress[] = [];
  let loadedAt = Date.now();
  // The admin API sees this server through these (src/admin/backend.ts). With workers the
  // primary runs the admin listener and asks each worker (src/admin/cluster.ts).
  const view: ProcessView = {
    pools: () =>
      compiled.groups.list.map((g) => ({
        name: g.name,
        servers: g.members.map((u) => ({ address: u.key, backup: u.backup, weight: u.weight, down: u.down, status: u.status() })),
      })),
    certificates: () => tls?.certificates() ?? [],
    tunnels: () => tunnels.size,
  };
  const parts: LocalParts = {
    view,
    reload: () => reloadFile(),
    info: () => ({
      version: porticoVersion(),
      configFile: options.file,
      loadedAt,
      listeners: addresses.map((a) => ({ address: a.host, port: a.port, tls: a.tls })),
      workers: 1,
    }),
  };
  // Bound before the sites' listeners: an admin address that cannot be bound stops the start
  // before anything listens. With workers the primary has the admin listener (cli/run.ts).
  let admin: AdminListener | undefined;
  if (!cluster.isWorker) {
    try {
      admin = await startAdmin(config.admin, localBackend(parts), errorLog, options.file);
    } catch (err) {
      compiled.pools.destroy();
      compiled.groups.close();
      void passwords.close();
      throw err;
    }
  }
  try {
    if (compiled.tlsSites.length > 0)
      tls = await TlsRuntime.start(compiled, { log: errorLog, dataDir: resolveDataDir(config.data_dir), now: options.now ?? Date.now });
    for (const plan of compiled.listeners) {
      const listener = plan.tls
        ? tlsListener(plan, deps, { sni: tls!.sniFor(plan), peek: tls!.peekFor(plan) })
        : httpListener(plan, deps, tls?.http01);
      const bound = await listener.listen(options.beforeServing !== undefined);
      listeners.push(listener);
      addresses.push({ key: plan.key, host: bound.address, port: bound.port, tls: plan.tls !== undefined });
      // Redirects to an HTTPS address given as port 0 need the port it got.
      for (const site of plan.tls ?? []) if (site.httpsPort.port === 0) site.httpsPort.port = bound.port;
      errorLog.info('listening', { address: plan.key, port: bound.port, tls: plan.tls !== undefined });
    }
    await options.beforeServing?.();
  } catch (err) {
    for (const l of listeners) l.stopAccepting();
    void admin?.close();
    tls?.close();
    compiled.pools.destroy();
    compiled.groups.close();
    void passwords.close();
    throw err;
  }
  for (const l of listeners) l.serve();
  tls?.startOrders();
  // Active health checks run while the config is being served; so do the cache's zones.
  compiled.groups.start();
  cache.activate(compiled.cache);
  const stopAnswering = cluster.isWorker ? answerPrimary(parts) : (): void => {};

  let closing: Promise<void> | undefined;
  const reload = (next: PorticoConfig): void => {
    if (closing) throw new ConfigError([`${options.file ?? 'config'}: not reloaded: Portico is stopping`]);
    // The admin listener is set up once (a restart changes it); a reload that names another
    // one says so and goes on (refusing would keep a config whose sites are wrong).
    if (!isDeepStrictEqual(config.admin, next.admin))
      errorLog.warn('admin settings changed: they apply at the next restart; the admin listener stays as it is', { file: options.file });
    const fresh = compile(withRequestIds(next), compileDeps, options.file);
    const change =
      restartOnlyChange(config, next, compiled.tlsSites.length + fresh.tlsSites.length > 0) ??
      // The config comparison implies this; the compiled result is what gets swapped.
      (fresh.listeners.length !== listeners.length || fresh.listeners.some((plan, i) => plan.key !== addresses[i]!.key) ? 'the listen addresses' : undefined);
    if (change) {
      fresh.groups.close();
      fresh.pools.destroy();
      throw new ConfigError([`${options.file ?? 'config'}: ${change} changed, which needs a restart; the running config stays`]);
    }
    try {
      // Route and server logs may change with a reload (the top level's needs a restart).
      if (ownAccessLog) accessLog?.configure(next, options.file);
    } catch (err) {
      fresh.groups.close();
      fresh.pools.destroy();
      throw err;
    }
    fresh.listeners.forEach((plan, i) => {
      // The same listen addresses in the same order (restartOnlyChange): the bound ports carry over.
      for (const site of plan.tls ?? []) if (site.httpsPort.port === 0) site.httpsPort.port = addresses[i]!.port;
      listeners[i]!.update(plan);
    });
    // Health checks of servers both configs use keep running (and their counts); the others stop.
    fresh.groups.start();
    compiled.groups.close();
    compiled.pools.close(); // idle connections now; busy ones when their response is done
    retired = retired.filter((old) => old.pools.open > 0);
    retired.push(compiled);
    compiled = fresh;
    config = next;
    spool.configure(fresh.tempFiles);
    cache.activate(fresh.cache);
    loadedAt = Date.now();
  };

  const reloadFile = async (): Promise<ReloadOutcome> => {
    if (options.file === undefined) return { ok: false, problems: ['Portico was started from a config object, not a file: nothing to read again'], warnings: [] };
    try {
      const { config: next, warnings } = await loadConfigFile(options.file, options.load);
      reload(next);
      return { ok: true, problems: [], warnings: [...warnings] };
    } catch (err) {
      return { ok: false, problems: err instanceof ConfigError ? [...err.problems] : [(err as Error).message], warnings: [] };
    }
  };

  const close = () =>
    (closing ??= (async () => {
      for (const l of listeners) l.stopAccepting(); // idle keep-alive connections close now
      stopAnswering();
      const adminClosed = admin?.close();
      tls?.close();
      if (inFlight.count > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, config.shutdown_timeout);
          timer.unref();
          inFlight.onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const l of listeners) l.destroyAll();
      for (const t of tunnels) t.destroy();
      compiled.groups.close();
      compiled.pools.destroy();
      for (const old of retired) old.pools.destroy();
      await passwords.close();
      cache.close();
      await adminClosed;
      if (ownAccessLog) await accessLog?.close();
      else await accessLog?.flush();
      errorLog.flush();
    })());
  const reopenLogs = () => {
    accessLog?.reopen();
    errorLog.reopen();
  };
  return { addresses, tls, reload, reopenLogs, close, spool, tunnels, cache, admin, reloadFile };
}
