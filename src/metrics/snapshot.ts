/**
 * A process's counts as plain JSON (RawStats): what a worker sends the admin listener over
 * IPC, what /status and the dashboard are built from, and what several workers add up to
 * (mergeStats). Only routes and servers that saw traffic are listed, so a config of 1,000
 * routes costs nothing until they are used. A process's own is gathered by
 * src/admin/local-stats.ts.
 */
import type { Denial } from './stats.js';
import type { TailEntry } from './tail.js';

export interface RouteRaw {
  server: string;
  route: string;
  /** By method and status class (stats.ts METHODS x CLASSES). */
  requests: number[];
  duration: number[];
  bytesIn: number;
  bytesOut: number;
}

export interface UpstreamRaw {
  address: string;
  responses: number[];
  header: number[];
}

export interface HostRaw {
  address: string;
  /** What the admin API set: up, draining or disabled (upstream/host-state.ts AdminState). */
  admin: string;
  healthy: boolean;
  /** Sitting out a fail_timeout (passive health) as far as its pools can tell. */
  inFlight: number;
  fails: number;
  /** Tries sent to it (retries included) and those that failed, since its state was created. */
  requests: number;
  failures: number;
}

export interface PoolServerRaw {
  address: string;
  backup: boolean;
  weight: number;
  /** `down` in the config. */
  down: boolean;
  /** What a request would find now: available, busy, failed, unhealthy, draining, disabled, down. */
  status: string;
}

export interface PoolRaw {
  name: string;
  servers: PoolServerRaw[];
}

export interface CertificateRaw {
  /** The server it belongs to ("servers[1]"). */
  where: string;
  names: string[];
  /** ms since the epoch. */
  notAfter: number;
}

/** What the running server knows beyond the counters (server.ts gives it). */
export interface ProcessView {
  pools(): PoolRaw[];
  certificates(): CertificateRaw[];
  /** WebSocket (upgrade) tunnels open. */
  tunnels(): number;
}

export interface RawStats {
  pids: number[];
  /** ms since the epoch; the oldest process's when merged. */
  startedAt: number;
  routes: RouteRaw[];
  upstreams: UpstreamRaw[];
  hosts: HostRaw[];
  pools: PoolRaw[];
  certificates: CertificateRaw[];
  connections: Record<string, number>;
  accepted: Record<string, number>;
  tunnels: number;
  retries: number;
  denials: Record<Denial, number>;
  /** Compressed responses and their bytes before and after, by coding. */
  compression: Record<string, { responses: number; bytesIn: number; bytesOut: number }>;
  logDrops: number;
  logErrors: number;
  process: { rss: number; heapUsed: number; cpuUser: number; cpuSystem: number; eventLoopP99: number };
  tail: TailEntry[];
  /** The last tail sequence number of each process, by pid, for the next request. */
  tailSeq: Record<number, number>;
}

function addInto(into: number[], from: readonly number[]): void {
  for (let i = 0; i < from.length; i++) into[i] = (into[i] ?? 0) + from[i]!;
}

/** Several processes' stats as one: counters added, states joined (a server unhealthy anywhere is shown unhealthy). */
export function mergeStats(list: readonly RawStats[]): RawStats {
  if (list.length === 1) return list[0]!;
  const routes = new Map<string, RouteRaw>();
  const upstreams = new Map<string, UpstreamRaw>();
  const hosts = new Map<string, HostRaw>();
  const out: RawStats = {
    pids: [],
    startedAt: Infinity,
    routes: [],
    upstreams: [],
    hosts: [],
    pools: list[0]?.pools ?? [],
    certificates: list[0]?.certificates ?? [],
    connections: {},
    accepted: {},
    tunnels: 0,
    retries: 0,
    denials: { access: 0, limit_req: 0, limit_conn: 0, basic_auth: 0 },
    compression: {},
    logDrops: 0,
    logErrors: 0,
    process: { rss: 0, heapUsed: 0, cpuUser: 0, cpuSystem: 0, eventLoopP99: 0 },
    tail: [],
    tailSeq: {},
  };
  for (const s of list) {
    out.pids.push(...s.pids);
    out.startedAt = Math.min(out.startedAt, s.startedAt);
    for (const r of s.routes) {
      const m = routes.get(r.route);
      if (!m) routes.set(r.route, { ...r, requests: [...r.requests], duration: [...r.duration] });
      else {
        addInto(m.requests, r.requests);
        addInto(m.duration, r.duration);
        m.bytesIn += r.bytesIn;
        m.bytesOut += r.bytesOut;
      }
    }
    for (const u of s.upstreams) {
      const m = upstreams.get(u.address);
      if (!m) upstreams.set(u.address, { ...u, responses: [...u.responses], header: [...u.header] });
      else {
        addInto(m.responses, u.responses);
        addInto(m.header, u.header);
      }
    }
    for (const h of s.hosts) {
      const m = hosts.get(h.address);
      if (!m) hosts.set(h.address, { ...h });
      else {
        m.healthy &&= h.healthy;
        m.inFlight += h.inFlight;
        m.fails = Math.max(m.fails, h.fails);
        m.requests += h.requests;
        m.failures += h.failures;
        if (h.admin !== 'up') m.admin = h.admin;
      }
    }
    for (const [k, v] of Object.entries(s.connections)) out.connections[k] = (out.connections[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.accepted)) out.accepted[k] = (out.accepted[k] ?? 0) + v;
    out.tunnels += s.tunnels;
    out.retries += s.retries;
    for (const k of Object.keys(out.denials) as Denial[]) out.denials[k] += s.denials[k];
    for (const [coding, c] of Object.entries(s.compression)) {
      const m = (out.compression[coding] ??= { responses: 0, bytesIn: 0, bytesOut: 0 });
      m.responses += c.responses;
      m.bytesIn += c.bytesIn;
      m.bytesOut += c.bytesOut;
    }
    out.logDrops += s.logDrops;
    out.logErrors += s.logErrors;
    out.process.rss += s.process.rss;
    out.process.heapUsed += s.process.heapUsed;
    out.process.cpuUser += s.process.cpuUser;
    out.process.cpuSystem += s.process.cpuSystem;
    out.process.eventLoopP99 = Math.max(out.process.eventLoopP99, s.process.eventLoopP99);
    out.tail.push(...s.tail);
    Object.assign(out.tailSeq, s.tailSeq);
  }
  if (list.length === 0) out.startedAt = Date.now(); // no worker answers yet (starting, or being replaced)
  out.routes = [...routes.values()];
  out.upstreams = [...upstreams.values()];
  out.hosts = [...hosts.values()];
  out.tail.sort((a, b) => a.time - b.time);
  return out;
}
