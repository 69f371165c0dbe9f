/**
 * The admin listener: its own node http server (not a Portico route: no route, rewrite or
 * limit of the proxied sites applies to it, and none of them can reach it). On by default at
 * 127.0.0.1:2019, as Caddy's admin endpoint; `admin: off` or PORTICO_ADMIN=off turns it off.
 * When the address is only the default and it is taken (another Portico on the machine, a
 * test run), Portico logs one warning and serves without it; an address the config names
 * that cannot be bound is an error, as any listen address is.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ADMIN_DEFAULT_LISTEN, type AdminConfig } from '../config/admin-schema.js';
import { cidrMatcher } from '../http/cidr.js';
import { ConfigError } from '../errors.js';
import type { ErrorLog } from '../log/error-log.js';
import { isLoopback, parseAdminListen, type AdminAddress } from '../config/admin-address.js';
import { adminApi } from './api.js';
import type { AdminBackend } from './backend.js';
import { EventHub } from './events.js';

export interface AdminListener {
  /** "127.0.0.1:2019" or "unix:/path". */
  readonly address: string;
  /** The bound port (0 for a unix socket). */
  readonly port: number;
  close(): Promise<void>;
}

/** Whether the config and the environment leave the admin listener on. */
export function adminEnabled(cfg: AdminConfig): boolean {
  if (cfg === false || cfg === 'off') return false;
  return (process.env.PORTICO_ADMIN ?? '').toLowerCase() !== 'off';
}

export async function startAdmin(cfg: AdminConfig, backend: AdminBackend, log: ErrorLog, file = 'config'): Promise<AdminListener | undefined> {
  if (!adminEnabled(cfg) || cfg === false || cfg === 'off') return undefined;
  const text = cfg?.listen ?? ADMIN_DEFAULT_LISTEN;
  const onlyDefault = cfg?.listen === undefined;
  const address = parseAdminListen(text)!; // checked by the schema
  const events = new EventHub(backend);
  const loopback = address.kind === 'unix' || isLoopback(address.host);
  const server = createServer(
    { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, maxHeaderSize: 16 * 1024 },
    adminApi({ backend, events, log, allow: cfg?.allow ? cidrMatcher(cfg.allow) : undefined, checkHost: address.kind === 'tcp' && loopback && !cfg?.allow }),
  );
  try {
    await bind(server, address);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    if (onlyDefault) {
      log.warn('admin listener not started: its default address is not free; serving without it (set admin.listen, or admin: off)', { address: text, code });
      return undefined;
    }
    throw new ConfigError([`${file}: admin.listen: cannot listen on ${text}: ${code}`]);
  }
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? (bound as AddressInfo).port : 0;
  const shown = address.kind === 'unix' ? text : `${(bound as AddressInfo).address.includes(':') ? `[${(bound as AddressInfo).address}]` : (bound as AddressInfo).address}:${port}`;
  log.info('admin listening', { address: shown });
  return {
    address: shown,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        events.close();
        server.close(() => resolve());
        server.closeAllConnections();
        if (address.kind === 'unix') removeSocket(address.path);
      }),
  };
}

function bind(server: Server, address: AdminAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = (retry: boolean): void => {
      const onError = (err: NodeJS.ErrnoException): void => {
        // A unix socket left by a Portico that died: nobody answers on it, so it may go.
        if (retry && address.kind === 'unix' && err.code === 'EADDRINUSE')
          return void stale(address.path).then((gone) => (gone ? attempt(false) : reject(err)));
        reject(err);
      };
      server.once('error', onError);
      const done = (): void => {
        server.off('error', onError);
        resolve();
      };
      if (address.kind === 'unix') server.listen(address.path, done);
      else server.listen({ host: address.host, port: address.port }, done);
    };
    attempt(true);
  });
}

/** True (and the file removed) when `path` is a socket nothing listens on. */
function stale(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNREFUSED') return resolve(false);
      removeSocket(path);
      resolve(true);
    });
  });
}

function removeSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // gone already
  }
}
