/**
 * What the admin listener asks of the Portico it watches. One process (backend: this file's
 * localBackend) answers from its own state; with `workers` the primary's admin listener asks
 * every worker over IPC and adds the answers up (cluster.ts), so one listener answers for all.
 */
import type { Registry } from 'prom-client';
import { hostRegistry, type AdminState } from '../upstream/host-state.js';
import type { ProcessView, RawStats } from '../metrics/snapshot.js';
import { localStats } from './local-stats.js';
import { createRegistry } from '../metrics/prometheus.js';

export interface ReloadOutcome {
  ok: boolean;
  /** What is wrong with the file (as SIGHUP logs it), when not ok. */
  problems: string[];
  warnings: string[];
}

export interface ListenerInfo {
  address: string;
  port: number;
  tls: boolean;
}

export interface ServerInfo {
  version: string;
  configFile: string | undefined;
  /** ms since the epoch: the last successful load or reload of the config. */
  loadedAt: number;
  listeners: ListenerInfo[];
  workers: number;
}

export interface AdminBackend {
  /** Prometheus text and its content type. */
  metrics(): Promise<{ contentType: string; text: string }>;
  /** The counts of every process, merged; `tailAfter`: live-tail cursors by pid (undefined: no tail). */
  stats(tailAfter?: Record<number, number>): Promise<RawStats>;
  /** Sets a server address's admin state in every process. */
  setServerState(address: string, state: AdminState): Promise<void>;
  /** Reads the config file again and serves it if valid (SIGHUP's rules). */
  reload(): Promise<ReloadOutcome>;
  info(): ServerInfo;
}

/** The process's one registry: the counters are per process, so is their exposition. */
let registry: Registry | undefined;
let view: ProcessView | undefined;

/** The registry reading this process's stats; `v` names the pools and certificates of the server in this process. */
export function processRegistry(v?: ProcessView): Registry {
  if (v) view = v;
  return (registry ??= createRegistry(() => localStats(view)));
}

export interface LocalParts {
  view: ProcessView;
  reload: () => Promise<ReloadOutcome>;
  info: () => ServerInfo;
}

export function localBackend(parts: LocalParts): AdminBackend {
  const reg = processRegistry(parts.view);
  return {
    async metrics() {
      return { contentType: reg.contentType, text: await reg.metrics() };
    },
    async stats(tailAfter) {
      return localStats(parts.view, tailAfter === undefined ? undefined : (tailAfter[process.pid] ?? 0));
    },
    async setServerState(address, state) {
      hostRegistry.setAdmin(address, state);
    },
    reload: parts.reload,
    info: parts.info,
  };
}
