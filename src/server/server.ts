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
import { httpListener, tlsListener, type BaseDeps, type Listener, type ListeningSocket } from './listeners.js';
import { ListenerSet, type ListenerChange } from './listener-set.js';
import type { ListenerPlan } from '../compile/compile.js';
import { isDeepStrictEqual } from 'node:util';
import { TlsRuntime } from '../tls/runtime.js';
import { resolveDataDir } from '../tls/data-dir.js';
import { ConfigError } from '../errors.js';
import { restartOnlyChange } from './reload-scope.js';
import { PasswordChecks } from '../shield/password-checks.js';
import { SpoolBudget } from '../buffering/spool-budget.js';
import { CacheZones } from '../cache/zones.js';
import { withRequestIds } from '../log/request-id-config.js';
import cluster from 'node:cluster';
import { loadConfigFile, type LoadOptions } from '../config/load.js';
import { startAdmin, type AdminListener } from '../admin/listener.js';
import { localBackend, type LocalParts, type ReloadOutcome } from '../admin/backend.js';
import { answerPrimary } from '../admin/cluster.js';
import { porticoVersion } from '../admin/api.js';
import type { ProcessView } from '../metrics/snapshot.js';

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
  /**
   * An upgrade in place: the listening socket the process being replaced had for a listen
   * address ("*:8080"), taken instead of binding it again; undefined: bind it.
   */
  inherited?: (key: string) => ListeningSocket | undefined;
  /** How `file` is read again by the admin API's POST /reload (adapter, nginx prefix). */
  load?: LoadOptions;
}

/** The key of the admin listener's socket among those an upgrade in place hands over. */
export const ADMIN_SOCKET_KEY = 'admin';

export type { BoundAddress } from './listener-set.js';
import type { BoundAddress } from './listener-set.js';

export interface PorticoServer {
  readonly addresses: readonly BoundAddress[];
  /** The TLS runtime (certificates, local CA), when a server uses HTTPS. */
  readonly tls: TlsRuntime | undefined;
  /**
   * Serves `next` from now on: new requests get its routes, pools, certificates and logs, new
   * listen addresses are bound and removed ones drain (listener-set.ts); requests in flight
   * finish on the old config. Rejects (and changes nothing) when `next` does not compile, a
   * certificate cannot be read, an address cannot be bound (a ConfigError, StartError or
   * ListenError) or it changes what a running process cannot (reload-scope.ts). Reloads run
   * one after another.
   */
  reload(next: PorticoConfig): Promise<void>;
  /** Opens the log files again by their paths (SIGUSR1, after logrotate renamed them). */
  reopenLogs(): void;
  /** Graceful stop; resolves when everything is closed. */
  close(): Promise<void>;
  /**
   * The listening socket of every address, for a new process that takes over (an upgrade in
   * place: cli/upgrade.ts); they keep accepting here until drain().
   */
  sockets(): { key: string; socket: ListeningSocket }[];
  /**
   * The end of an old process after an upgrade in place: accepts no more, lets its connections
   * go gently (listeners.ts drain()) and waits for requests and WebSocket tunnels to finish,
   * at most `shutdown_timeout`, then closes what is left; resolves when everything is closed.
   */
  drain(): Promise<void>;
  /** The temp-file budget (`temp_files`): what is on disk now, for tests and metrics. */
  readonly spool: SpoolBudget;
  /** This server's open upgrade sockets (WebSocket tunnels), for tests and metrics; close() destroys them. */
  readonly tunnels: ReadonlySet<Duplex>;
  /** The response cache's zones (indexes kept across reloads); purge through src/cache/purge.ts. */
  readonly cache: CacheZones;
  /** The admin listener (src/admin/), when it runs in this process. */
  readonly admin: AdminListener | undefined;
  /** Reads the config file again and serves it (the admin API's POST /reload; SIGHUP's rules). */
  reloadFile(): Promise<ReloadOutcome>;
}

export async function startServer(initial: PorticoConfig, options: StartOptions = {}): Promise<PorticoServer> {
  let config = initial;
  const ownErrorLog = options.errorLog === undefined;
  const errorLog = options.errorLog ?? errorLogFor(config, options.file);
  // Every access log of the config (top level, servers, routes), or the one a test gives; a
  // reload configures it again (AccessLog.configure).
  const ownAccessLog = options.accessLog === undefined;
  const accessLog = options.accessLog === false ? undefined : (options.accessLog ?? AccessLog.fromConfig(config, options.file));
  // basic_auth's verifier threads (started by the first check) and failure counts: one set per
  // server, kept across reloads unless 'password_checks' itself changes.
  let passwords = new PasswordChecks(config.password_checks);
  // One temp-file budget for the life of the process: a reload changes its limits, and the
  // bytes of responses still in flight stay counted.
  const spool = new SpoolBudget();
  // The cache's zones live as long as the server: a reload keeps their indexes.
  const cache = new CacheZones(errorLog);
  const dataDir = resolveDataDir(config.data_dir);
  const compileDeps = () => ({ log: errorLog, upstream: options.upstream, passwords, spool, cache, dataDir });
  let compiled: CompiledConfig = compile(withRequestIds(config), compileDeps(), options.file);
  spool.configure(compiled.tempFiles);
  /** Configs replaced by a reload whose pools still have connections (requests in flight), for close(). */
  let retired: CompiledConfig[] = [];
  const inFlight: DispatchDeps['inFlight'] = { count: 0, onIdle: null };
  // Upgrade sockets handed to handlers, this server's own: closing it closes them and no others.
  const tunnels = new Set<Duplex>();
  /** What every listener's dispatchers get from a config: its logs and request limits. */
  const depsOf = (c: PorticoConfig, log: AccessLog | undefined): BaseDeps => ({
    accessLog: log,
    errorLog,
    inFlight,
    limits: { maxHeaders: c.client.max_headers, maxUriLength: c.client.max_uri_length },
    client: c.client,
    tunnels,
  });
  let deps = depsOf(config, accessLog);
  let tls: TlsRuntime | undefined;
  const tlsDeps = { log: errorLog, dataDir, now: options.now ?? Date.now };
  const listenerFor = (plan: ListenerPlan, d: BaseDeps, rt: TlsRuntime | undefined): Listener =>
    plan.tls ? tlsListener(plan, d, { sni: rt!.sniFor(plan), peek: rt!.peekFor(plan) }) : httpListener(plan, d, rt?.http01);
  const listeners = new ListenerSet(errorLog);
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
      listeners: listeners.addresses.map((a) => ({ address: a.host, port: a.port, tls: a.tls })),
      workers: 1,
    }),
  };
  // Bound before the sites' listeners: an admin address that cannot be bound stops the start
  // before anything listens. With workers the primary has the admin listener (cli/run.ts).
  let admin: AdminListener | undefined;
  if (!cluster.isWorker) {
    try {
      admin = await startAdmin(config.admin, localBackend(parts), errorLog, options.file, options.inherited?.(ADMIN_SOCKET_KEY));
    } catch (err) {
      compiled.pools.destroy();
      compiled.groups.close();
      void passwords.close();
      throw err;
    }
  }
  try {
    if (compiled.tlsSites.length > 0) tls = await TlsRuntime.start(compiled, tlsDeps);
    for (const plan of compiled.listeners) {
      const bound = await listeners.add(plan, listenerFor(plan, deps, tls), options.beforeServing !== undefined, options.inherited?.(plan.key));
      errorLog.info('listening', { address: plan.key, port: bound.port, tls: bound.tls });
    }
    await options.beforeServing?.();
  } catch (err) {
    listeners.stopAccepting();
    void admin?.close();
    tls?.close();
    compiled.pools.destroy();
    compiled.groups.close();
    void passwords.close();
    throw err;
  }
  for (const l of listeners.listeners) l.serve();
  tls?.startOrders();
  // Active health checks run while the config is being served; so do the cache's zones.
  compiled.groups.start();
  cache.activate(compiled.cache);
  const stopAnswering = cluster.isWorker ? answerPrimary(parts) : (): void => {};

  let closing: Promise<void> | undefined;
  const stopping = () => new ConfigError([`${options.file ?? 'config'}: not reloaded: Portico is stopping`]);
  const swap = async (next: PorticoConfig): Promise<void> => {
    if (closing) throw stopping();
    const refused = restartOnlyChange(config, next);
    if (refused) throw new ConfigError([`${options.file ?? 'config'}: ${refused}; the running config stays`]);
    // The admin listener is set up once (a restart, or an upgrade in place, changes it); a
    // reload that names another one says so and goes on.
    if (!isDeepStrictEqual(config.admin, next.admin))
      errorLog.warn('admin settings changed: they apply at the next restart or upgrade; the admin listener stays as it is', { file: options.file });
    const freshPasswords = isDeepStrictEqual(config.password_checks, next.password_checks) ? passwords : new PasswordChecks(next.password_checks);
    const oldPasswords = passwords;
    passwords = freshPasswords;
    let fresh: CompiledConfig;
    try {
      fresh = compile(withRequestIds(next), compileDeps(), options.file);
    } finally {
      passwords = oldPasswords;
    }
    // Everything that can fail is made ready first; the running config changes only after.
    const nextDeps = depsOf(next, accessLog);
    let freshTls: TlsRuntime | undefined;
    let change: ListenerChange;
    try {
      // The logs first: a file that cannot be opened refuses the reload (log-stream.ts).
      if (ownAccessLog) accessLog?.configure(next, options.file);
      if (ownErrorLog) errorLog.check(next, options.file);
      if (fresh.tlsSites.length > 0) freshTls = await TlsRuntime.start(fresh, tlsDeps);
      change = await listeners.prepare(
        fresh.listeners,
        (plan) => listenerFor(plan, nextDeps, freshTls),
        (plan) => ({ deps: nextDeps, http01: freshTls?.http01, tls: plan.tls ? { sni: freshTls!.sniFor(plan), peek: freshTls!.peekFor(plan) } : undefined }),
      );
      if (closing) {
        change.abort();
        throw stopping();
      }
    } catch (err) {
      freshTls?.close();
      fresh.groups.close();
      fresh.pools.destroy();
      if (freshPasswords !== passwords) void freshPasswords.close();
      // The access log goes back to the running config's (configure() keeps what is open).
      if (ownAccessLog) {
        try {
          accessLog?.configure(config, options.file);
        } catch {
          // it was taken before
        }
      }
      throw err;
    }
    // From here nothing fails.
    change.commit(next.shutdown_timeout);
    for (const a of change.added) errorLog.info('listening', { address: a.key, port: a.port, tls: a.tls });
    for (const a of change.removed) errorLog.info('no longer listening; its connections drain', { address: a.key, port: a.port });
    if (ownErrorLog) errorLog.follow(next);
    else if (config.log_level !== next.log_level) errorLog.logger.level = next.log_level;
    const oldTls = tls;
    tls = freshTls;
    oldTls?.close();
    tls?.startOrders();
    // Health checks of servers both configs use keep running (and their counts); the others stop.
    fresh.groups.start();
    compiled.groups.close();
    compiled.pools.close(); // idle connections now; busy ones when their response is done
    retired = retired.filter((old) => old.pools.open > 0);
    retired.push(compiled);
    compiled = fresh;
    retireAfter(next.shutdown_timeout, passwords !== freshPasswords ? passwords : undefined);
    passwords = freshPasswords;
    deps = nextDeps;
    config = next;
    spool.configure(fresh.tempFiles);
    cache.activate(fresh.cache);
    loadedAt = Date.now();
  };
  /** What a reload replaced is closed once the requests that may still use it had their time. */
  const retireAfter = (ms: number, checks: PasswordChecks | undefined) => {
    if (checks === undefined) return;
    const timer = setTimeout(() => void checks.close(), ms);
    timer.unref();
  };
  const reloadFile = async (): Promise<ReloadOutcome> => {
    if (options.file === undefined) return { ok: false, problems: ['Portico was started from a config object, not a file: nothing to read again'], warnings: [] };
    try {
      const { config: next, warnings } = await loadConfigFile(options.file, options.load);
      await reload(next);
      return { ok: true, problems: [], warnings: [...warnings] };
    } catch (err) {
      return { ok: false, problems: err instanceof ConfigError ? [...err.problems] : [(err as Error).message], warnings: [] };
    }
  };
  let reloading: Promise<void> = Promise.resolve();
  const reload = (next: PorticoConfig): Promise<void> => {
    const run = reloading.then(() => swap(next));
    reloading = run.catch(() => {});
    return run;
  };

  /** Until no request is in flight (and, `tunnels`, no WebSocket open), at most `ms`. */
  const untilIdle = (ms: number, withTunnels: boolean): Promise<void> =>
    new Promise<void>((resolve) => {
      const idle = () => inFlight.count === 0 && (!withTunnels || tunnels.size === 0);
      if (idle()) return resolve();
      const deadline = setTimeout(done, ms);
      deadline.unref();
      inFlight.onIdle = () => idle() && done();
      // A tunnel's end is not an event of the dispatcher's: looked at now and then.
      const poll = withTunnels ? setInterval(() => idle() && done(), 100) : undefined;
      function done() {
        clearTimeout(deadline);
        clearInterval(poll);
        inFlight.onIdle = null;
        resolve();
      }
    });

  const shutdown = (gently: boolean) =>
    (closing ??= (async () => {
      await reloading;
      if (gently) listeners.drain();
      else listeners.stopAccepting(); // idle keep-alive connections close now
      stopAnswering();
      // After an upgrade in place the admin socket is the new process's: closed here, not removed.
      const adminClosed = admin?.close(gently);
      tls?.close();
      // A stop waits for requests in flight; the old process of an upgrade for its WebSockets too.
      await untilIdle(config.shutdown_timeout, gently);
      listeners.destroyAll();
      for (const t of tunnels) t.destroy();
      compiled.groups.close();
      compiled.pools.destroy();
      for (const old of retired) old.pools.destroy();
      await passwords.close();
      await cache.close(); // entry writes finished or given up: nothing writes into the data directory after close
      await adminClosed;
      if (ownAccessLog) await accessLog?.close();
      else await accessLog?.flush();
      errorLog.flush();
    })());
  const reopenLogs = () => {
    accessLog?.reopen();
    errorLog.reopen();
  };
  return {
    addresses: listeners.addresses,
    get tls() {
      return tls;
    },
    reload,
    reopenLogs,
    close: () => shutdown(false),
    drain: () => shutdown(true),
    sockets: () => {
      const own = admin?.socket();
      return [...listeners.sockets(), ...(own ? [{ key: ADMIN_SOCKET_KEY, socket: own }] : [])];
    },
    spool,
    tunnels,
    cache,
    admin,
    reloadFile,
  };
}
