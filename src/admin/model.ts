/**
 * The dashboard's view of the stats: per-second request counts by status class over the last
 * five minutes, rates and p50/p95/p99 per route and per upstream server over the last minute,
 * and the live tail. It advances once a second while at least one dashboard is connected
 * (events.ts), and costs nothing otherwise.
 */
import { minus, quantile } from '../metrics/buckets.js';
import { CLASSES } from '../metrics/stats.js';
import type { RawStats } from '../metrics/snapshot.js';
import type { TailEntry } from '../metrics/tail.js';

const SERIES_SECONDS = 300;
/** Latency percentiles cover this long (a window snapshot is kept every WINDOW_STEP_MS). */
const WINDOW_MS = 60_000;
const WINDOW_STEP_MS = 5_000;
/** Rates are averaged over this long. */
const RATE_MS = 10_000;
const TAIL_KEPT = 200;

interface Window {
  at: number;
  routes: Map<string, { total: number; duration: number[] }>;
  upstreams: Map<string, { total: number; header: number[] }>;
}

export interface RouteRow {
  route: string;
  server: string;
  total: number;
  rps: number;
  classes: number[];
  p50: number;
  p95: number;
  p99: number;
}

export interface UpstreamRow {
  address: string;
  pools: string[];
  /** What a request finds: available, busy, failed, unhealthy, draining, drained, disabled, down. */
  status: string;
  admin: string;
  healthy: boolean;
  inFlight: number;
  responses: number;
  failures: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface DashboardSnapshot {
  at: number;
  startedAt: number;
  processes: number;
  /** [time s, 1xx, 2xx, 3xx, 4xx, 5xx] per second, oldest first. */
  series: number[][];
  /** Requests and 5xx answers per second over the last three seconds. */
  rps: number;
  errorRate: number;
  connections: Record<string, number>;
  tunnels: number;
  inFlight: number;
  routes: RouteRow[];
  /** Routes the config has that saw no traffic are not listed; this many are. */
  upstreams: UpstreamRow[];
  certificates: { where: string; names: string[]; notAfter: number }[];
  process: RawStats['process'];
  retries: number;
  denials: Record<string, number>;
  /** Compressed responses and their bytes before and after, by coding (since the start). */
  compression: RawStats['compression'];
  logDrops: number;
  tail: TailEntry[];
}

function sum(a: readonly number[]): number {
  let n = 0;
  for (const v of a) n += v;
  return n;
}

function byClass(requests: readonly number[]): number[] {
  const out = new Array<number>(CLASSES.length).fill(0);
  for (let i = 0; i < requests.length; i++) out[i % CLASSES.length]! += requests[i]!;
  return out;
}

const round = (v: number): number => (Number.isFinite(v) ? Math.round(v * 100) / 100 : 0);

export class DashboardModel {
  readonly #series: number[][] = [];
  #lastClasses: number[] | undefined;
  readonly #windows: Window[] = [];
  readonly #tail: TailEntry[] = [];
  /** Live-tail cursors by pid, for the next stats request. */
  tailAfter: Record<number, number> = {};

  /** Takes one second's stats; returns what the dashboards get. */
  update(raw: RawStats, now = Date.now()): DashboardSnapshot {
    const classes = new Array<number>(CLASSES.length).fill(0);
    for (const r of raw.routes) byClass(r.requests).forEach((n, i) => (classes[i]! += n));
    if (this.#lastClasses !== undefined) {
      this.#series.push([Math.floor(now / 1000), ...classes.map((n, i) => Math.max(0, n - this.#lastClasses![i]!))]);
      if (this.#series.length > SERIES_SECONDS) this.#series.shift();
    }
    this.#lastClasses = classes;

    const window: Window = { at: now, routes: new Map(), upstreams: new Map() };
    for (const r of raw.routes) window.routes.set(r.route, { total: sum(r.requests), duration: r.duration });
    for (const u of raw.upstreams) window.upstreams.set(u.address, { total: sum(u.responses), header: u.header });
    const last = this.#windows[this.#windows.length - 1];
    if (last === undefined || now - last.at >= WINDOW_STEP_MS) this.#windows.push(window);
    while (this.#windows.length > 1 && now - this.#windows[0]!.at > WINDOW_MS + WINDOW_STEP_MS) this.#windows.shift();
    const oldest = this.#windows[0]!;
    const rateBase = this.#windows.find((w) => now - w.at <= RATE_MS) ?? oldest;
    const rateSeconds = Math.max(1, (now - rateBase.at) / 1000);

    const routes: RouteRow[] = raw.routes.map((r) => {
      const total = sum(r.requests);
      const d = minus(r.duration, oldest.routes.get(r.route)?.duration);
      return {
        route: r.route,
        server: r.server,
        total,
        rps: round((total - (rateBase.routes.get(r.route)?.total ?? 0)) / rateSeconds),
        classes: byClass(r.requests),
        p50: round(quantile(d, 0.5)),
        p95: round(quantile(d, 0.95)),
        p99: round(quantile(d, 0.99)),
      };
    });
    routes.sort((a, b) => b.rps - a.rps || b.total - a.total);

    const pools = new Map<string, string[]>();
    const statusOf = new Map<string, string>();
    for (const p of raw.pools)
      for (const s of p.servers) {
        pools.set(s.address, [...(pools.get(s.address) ?? []), p.name]);
        statusOf.set(s.address, s.status);
      }
    const seen = new Map(raw.upstreams.map((u) => [u.address, u]));
    const upstreams: UpstreamRow[] = raw.hosts.map((h) => {
      const u = seen.get(h.address);
      const total = u ? sum(u.responses) : 0;
      const d = u ? minus(u.header, oldest.upstreams.get(h.address)?.header) : [];
      let status = statusOf.get(h.address) ?? 'available';
      if (h.admin === 'draining' && h.inFlight === 0) status = 'drained';
      return {
        address: h.address,
        pools: pools.get(h.address) ?? [],
        status,
        admin: h.admin,
        healthy: h.healthy,
        inFlight: h.inFlight,
        responses: total,
        failures: h.failures,
        rps: round((total - (rateBase.upstreams.get(h.address)?.total ?? 0)) / rateSeconds),
        p50: u ? round(quantile(d, 0.5)) : 0,
        p95: u ? round(quantile(d, 0.95)) : 0,
        p99: u ? round(quantile(d, 0.99)) : 0,
      };
    });
    upstreams.sort((a, b) => a.address.localeCompare(b.address));

    this.tailAfter = { ...this.tailAfter, ...raw.tailSeq };
    this.#tail.push(...raw.tail);
    if (this.#tail.length > TAIL_KEPT) this.#tail.splice(0, this.#tail.length - TAIL_KEPT);
    // The tiles' rates: the last three seconds, so one quiet second does not read as zero.
    const recent = this.#series.slice(-3);
    const seconds = Math.max(1, recent.length);
    return {
      at: now,
      startedAt: raw.startedAt,
      processes: raw.pids.length,
      series: this.#series,
      rps: round(sum(recent.map((p) => sum(p.slice(1)))) / seconds),
      errorRate: round(sum(recent.map((p) => p[5]!)) / seconds),
      connections: raw.connections,
      tunnels: raw.tunnels,
      inFlight: sum(raw.hosts.map((h) => h.inFlight)),
      routes,
      upstreams,
      certificates: raw.certificates,
      process: raw.process,
      retries: raw.retries,
      denials: raw.denials,
      compression: raw.compression,
      logDrops: raw.logDrops,
      tail: raw.tail,
    };
  }

  /** The tail kept so far, for a dashboard that just connected. */
  recentTail(): TailEntry[] {
    return [...this.#tail];
  }
}
