/**
 * A running Portico: one node HTTP server per listen address, sharing the compiled routes,
 * and a graceful stop (stop accepting, let requests in flight finish within
 * `shutdown_timeout`, then close what is left).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { PorticoConfig } from '../config/schema.js';
import { compile, type CompiledConfig } from '../compile/compile.js';
import { createDispatcher, type DispatchDeps } from './dispatch.js';
import { AccessLog } from '../log/access-log.js';
import { ErrorLog } from '../log/error-log.js';
import { openTunnels } from '../proxy/tunnel.js';
import { onClientError } from './client-error.js';

export interface StartOptions {
  /** Defaults to a pino logger on stderr at the config's log_level. */
  errorLog?: ErrorLog;
  /** Overrides the config's access_log (tests pass `false`). */
  accessLog?: AccessLog | false;
  /** Name of the config file, for error messages. */
  file?: string;
}

export interface BoundAddress {
  /** The listen key from the config ("*:8080"). */
  key: string;
  host: string;
  port: number;
}

export interface PorticoServer {
  readonly addresses: readonly BoundAddress[];
  /** Graceful stop; resolves when everything is closed. */
  close(): Promise<void>;
}

/** Node's defaults kill uploads after 5 minutes (requestTimeout); Portico's limits are per read (ANCHORS §3.9). */
const SERVER_OPTIONS = {
  requestTimeout: 0,
  headersTimeout: 60_000,
  keepAliveTimeout: 75_000, // nginx keepalive_timeout
  maxHeaderSize: 16 * 1024,
  requireHostHeader: true,
};

export async function startServer(config: PorticoConfig, options: StartOptions = {}): Promise<PorticoServer> {
  const errorLog = options.errorLog ?? new ErrorLog(config.log_level);
  const accessLog =
    options.accessLog === false ? undefined : (options.accessLog ?? (config.access_log === false ? undefined : new AccessLog(config.access_log)));
  const compiled: CompiledConfig = compile(config, { log: errorLog }, options.file);
  const inFlight: DispatchDeps['inFlight'] = { count: 0, onIdle: null };
  const servers: Server[] = [];
  const addresses: BoundAddress[] = [];
  try {
    for (const plan of compiled.listeners) {
      const { onRequest, onUpgrade } = createDispatcher(plan, { accessLog, errorLog, scheme: 'http', inFlight });
      const server = createHttpServer(SERVER_OPTIONS, onRequest);
      server.on('upgrade', onUpgrade);
      server.on('clientError', (err: Error & { code?: string }, socket: Socket) => onClientError(err, socket, errorLog));
      await listen(server, plan.address.host, plan.address.port);
      servers.push(server);
      const bound = server.address() as AddressInfo;
      addresses.push({ key: plan.key, host: bound.address, port: bound.port });
      errorLog.info('listening', { address: plan.key, port: bound.port });
    }
  } catch (err) {
    for (const s of servers) s.close();
    compiled.pools.destroy();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const s of servers) s.close(); // stop accepting; idle keep-alive connections close now
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
      for (const s of servers) s.closeAllConnections();
      for (const t of openTunnels) t.destroy();
      compiled.pools.destroy();
      accessLog?.flush();
      errorLog.flush();
    })());
  return { addresses, close };
}

function listen(server: Server, host: string | undefined, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
