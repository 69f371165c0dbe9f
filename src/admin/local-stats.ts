/**
 * This process's RawStats (src/metrics/snapshot.ts): the counters of src/metrics/, the live
 * state of the upstream servers (upstream/host-state.ts), and what the running server tells
 * through its ProcessView (pools, certificates, tunnels). Read when /metrics, /status or the
 * dashboard asks, never per request.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { hostRegistry } from '../upstream/host-state.js';
import { acceptedConnections, openConnections } from '../metrics/connections.js';
import { stats } from '../metrics/stats.js';
import type { ProcessView, RawStats, RouteRaw, UpstreamRaw } from '../metrics/snapshot.js';
import type { TailEntry } from '../metrics/tail.js';

let loopDelay: IntervalHistogram | undefined;

/** This process's RawStats; `tailAfter`: the live tail after that sequence number (undefined: none). */
export function localStats(view: ProcessView | undefined, tailAfter?: number): RawStats {
  loopDelay ??= startLoopMonitor();
  const routes: RouteRaw[] = [];
  for (const r of stats.routes.values())
    if (r.total > 0) routes.push({ server: r.server, route: r.route, requests: [...r.requests], duration: [...r.duration], bytesIn: r.bytesIn, bytesOut: r.bytesOut });
  const upstreams: UpstreamRaw[] = [];
  for (const u of stats.upstreams.values()) upstreams.push({ address: u.address, responses: [...u.responses], header: [...u.header] });
  const hosts = hostRegistry.snapshot().map((h) => ({ address: h.address, admin: h.admin, healthy: h.healthy, inFlight: h.inFlight, fails: h.fails, requests: h.requests, failures: h.failures }));
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  let tail: TailEntry[] = [];
  if (tailAfter !== undefined) {
    stats.watchTail(5_000);
    tail = stats.tail!.since(tailAfter);
  } else stats.expireTail();
  const p99 = loopDelay.percentile(99) / 1e6;
  loopDelay.reset();
  return {
    pids: [process.pid],
    startedAt: stats.startedAt,
    routes,
    upstreams,
    hosts,
    pools: view?.pools() ?? [],
    certificates: view?.certificates() ?? [],
    connections: { ...openConnections },
    accepted: { ...acceptedConnections },
    tunnels: view?.tunnels() ?? 0,
    retries: stats.retries,
    denials: { ...stats.denials },
    compression: Object.fromEntries([...stats.compression].map(([coding, c]) => [coding, { ...c }])),
    logDrops: stats.logDrops,
    logErrors: stats.logErrors,
    process: { rss: mem.rss, heapUsed: mem.heapUsed, cpuUser: cpu.user / 1e6, cpuSystem: cpu.system / 1e6, eventLoopP99: Number.isFinite(p99) ? p99 : 0 },
    tail,
    tailSeq: { [process.pid]: stats.tail?.last ?? 0 },
  };
}

function startLoopMonitor(): IntervalHistogram {
  const h = monitorEventLoopDelay({ resolution: 20 });
  h.enable();
  return h;
}
