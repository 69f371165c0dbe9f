/** GET /status: what a script wants to know about the running Portico, as JSON. */
import type { RawStats } from '../metrics/snapshot.js';
import type { ServerInfo } from './backend.js';

export function statusDocument(raw: RawStats, info: ServerInfo) {
  const now = Date.now();
  const hosts = new Map(raw.hosts.map((h) => [h.address, h]));
  let requests = 0;
  for (const r of raw.routes) for (const n of r.requests) requests += n;
  return {
    version: info.version,
    pids: raw.pids,
    workers: info.workers,
    started_at: new Date(raw.startedAt).toISOString(),
    uptime_s: Math.round((now - raw.startedAt) / 1000),
    config: { file: info.configFile ?? null, loaded_at: new Date(info.loadedAt).toISOString() },
    listeners: info.listeners,
    requests_total: requests,
    connections: raw.connections,
    tunnels: raw.tunnels,
    upstreams: raw.pools.map((p) => ({
      name: p.name,
      servers: p.servers.map((s) => {
        const h = hosts.get(s.address);
        return {
          address: s.address,
          state: h?.admin === 'draining' && h.inFlight === 0 ? 'drained' : (h?.admin ?? 'up'),
          status: s.status,
          healthy: h?.healthy ?? true,
          backup: s.backup,
          weight: s.weight,
          in_flight: h?.inFlight ?? 0,
          attempts: h?.requests ?? 0,
          failures: h?.failures ?? 0,
          passive_fails: h?.fails ?? 0,
        };
      }),
    })),
    certificates: raw.certificates.map((c) => ({
      server: c.where,
      names: c.names,
      not_after: new Date(c.notAfter).toISOString(),
      expires_in_days: Math.floor((c.notAfter - now) / 86_400_000),
    })),
    retries: raw.retries,
    denials: raw.denials,
    compression: Object.fromEntries(Object.entries(raw.compression).map(([coding, c]) => [coding, { responses: c.responses, bytes_in: c.bytesIn, bytes_out: c.bytesOut }])),
    access_log: { dropped: raw.logDrops, errors: raw.logErrors },
  };
}
