/**
 * /metrics in Prometheus's text format through prom-client: its registry, exposition and
 * process metrics (CPU, RSS, event-loop delay), and, with `workers`, its AggregatorRegistry
 * adding the workers' metrics up (cluster.ts). The request counters themselves live in
 * stats.ts as plain numbers; each metric here reads them when scraped (prom-client's own
 * Counter would hash its labels on every request).
 */
import { Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { BOUNDS_MS, COUNT, EXPOSED_MS, SUM } from './buckets.js';
import { CLASSES, METHODS } from './stats.js';
import type { RawStats } from './snapshot.js';

type Labels = Record<string, string | number>;
interface Value {
  value: number;
  labels: Labels;
  metricName?: string;
}
type Aggregator = 'sum' | 'max' | 'min' | 'first' | 'omit' | 'average';

/** A metric whose values are computed at scrape time; prom-client needs only name, help, type and get(). */
function collected(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', aggregator: Aggregator, values: (s: RawStats) => Value[], source: () => RawStats) {
  return {
    name,
    help,
    type,
    aggregator,
    get: async () => ({ name, help, type, aggregator, values: values(source()) }),
    reset: () => {},
  } as unknown as Metric;
}

/** The cumulative buckets, _sum (seconds) and _count of one histogram of stats.ts. */
function histogram(name: string, h: readonly number[], labels: Labels): Value[] {
  const out: Value[] = [];
  let cumulative = 0;
  let slot = 0;
  for (const le of EXPOSED_MS) {
    while (slot < BOUNDS_MS.length && BOUNDS_MS[slot]! <= le) cumulative += h[slot++]!;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: le / 1000 }, value: cumulative });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h[COUNT]! });
  out.push({ metricName: `${name}_sum`, labels, value: h[SUM]! / 1000 });
  out.push({ metricName: `${name}_count`, labels, value: h[COUNT]! });
  return out;
}

const STATES = ['up', 'draining', 'disabled', 'unhealthy'] as const;

export function createRegistry(read: () => RawStats): Registry {
  // Every metric of one scrape reads the same RawStats, taken once.
  let current: RawStats | undefined;
  const source = (): RawStats => {
    if (current === undefined) {
      current = read();
      setImmediate(() => (current = undefined));
    }
    return current;
  };
  const registry = new Registry();
  const metrics = [
    collected('portico_requests_total', 'Requests answered, by server block, route, method and status class', 'counter', 'sum', (s) =>
      s.routes.flatMap((r) =>
        r.requests.flatMap((n, i) =>
          n === 0 ? [] : [{ value: n, labels: { server: r.server, route: r.route, method: METHODS[Math.floor(i / CLASSES.length)]!, status_class: CLASSES[i % CLASSES.length]! } }],
        ),
      ),
    source),
    collected('portico_request_duration_seconds', 'From the request head to the end of the response, by route (WebSocket tunnels not included)', 'histogram', 'sum', (s) =>
      s.routes.flatMap((r) => histogram('portico_request_duration_seconds', r.duration, { server: r.server, route: r.route })),
    source),
    collected('portico_request_body_bytes_total', 'Request body bytes received (as declared by Content-Length), by route', 'counter', 'sum', (s) =>
      s.routes.map((r) => ({ value: r.bytesIn, labels: { server: r.server, route: r.route } })),
    source),
    collected('portico_response_body_bytes_total', 'Response body bytes sent (nginx $body_bytes_sent), by route', 'counter', 'sum', (s) =>
      s.routes.map((r) => ({ value: r.bytesOut, labels: { server: r.server, route: r.route } })),
    source),
    collected('portico_connections_open', 'Client connections open, by protocol', 'gauge', 'sum', (s) =>
      Object.entries(s.connections).map(([protocol, value]) => ({ value, labels: { protocol } })),
    source),
    collected('portico_connections_total', 'Client connections accepted, by protocol', 'counter', 'sum', (s) =>
      Object.entries(s.accepted).map(([protocol, value]) => ({ value, labels: { protocol } })),
    source),
    collected('portico_tunnels_open', 'WebSocket (upgrade) tunnels open', 'gauge', 'sum', (s) => [{ value: s.tunnels, labels: {} }], source),
    collected('portico_upstream_responses_total', 'Responses relayed from each upstream server, by status class (a retried request counts once, on the server that answered)', 'counter', 'sum', (s) =>
      s.upstreams.flatMap((u) => u.responses.flatMap((n, i) => (n === 0 ? [] : [{ value: n, labels: { upstream: u.address, status_class: CLASSES[i]! } }]))),
    source),
    collected('portico_upstream_header_duration_seconds', 'From sending a request to an upstream server to its response head (nginx $upstream_header_time)', 'histogram', 'sum', (s) =>
      s.upstreams.flatMap((u) => histogram('portico_upstream_header_duration_seconds', u.header, { upstream: u.address })),
    source),
    collected('portico_upstream_server_state', "Each upstream server's state: 1 for the one it is in (up, draining, disabled through the admin API; unhealthy by its active health check)", 'gauge', 'max', (s) =>
      s.hosts.flatMap((h) => {
        const now = !h.healthy && h.admin === 'up' ? 'unhealthy' : h.admin;
        return STATES.map((state) => ({ value: state === now ? 1 : 0, labels: { upstream: h.address, state } }));
      }),
    source),
    collected('portico_upstream_in_flight', 'Requests and tunnels in progress on each upstream server', 'gauge', 'sum', (s) =>
      s.hosts.map((h) => ({ value: h.inFlight, labels: { upstream: h.address } })),
    source),
    collected('portico_upstream_attempts_total', 'Tries sent to each upstream server of a load-balanced pool (retries included)', 'counter', 'sum', (s) =>
      s.hosts.map((h) => ({ value: h.requests, labels: { upstream: h.address } })),
    source),
    collected('portico_upstream_failures_total', 'Failed tries on each upstream server (what fail_on counts)', 'counter', 'sum', (s) =>
      s.hosts.map((h) => ({ value: h.failures, labels: { upstream: h.address } })),
    source),
    collected('portico_upstream_healthy', '1 while the active health check (if any) finds the server healthy', 'gauge', 'min', (s) =>
      s.hosts.map((h) => ({ value: h.healthy ? 1 : 0, labels: { upstream: h.address } })),
    source),
    collected('portico_upstream_retries_total', 'Requests sent to another server of their pool after a failure', 'counter', 'sum', (s) => [{ value: s.retries, labels: {} }], source),
    collected('portico_compressed_responses_total', 'Responses compressed on the fly (route compress), by coding', 'counter', 'sum', (s) =>
      Object.entries(s.compression).map(([coding, c]) => ({ value: c.responses, labels: { coding } })),
    source),
    collected('portico_compression_input_bytes_total', 'Response body bytes before compression, by coding', 'counter', 'sum', (s) =>
      Object.entries(s.compression).map(([coding, c]) => ({ value: c.bytesIn, labels: { coding } })),
    source),
    collected('portico_compression_output_bytes_total', 'Response body bytes after compression (what was sent), by coding', 'counter', 'sum', (s) =>
      Object.entries(s.compression).map(([coding, c]) => ({ value: c.bytesOut, labels: { coding } })),
    source),
    collected('portico_denials_total', 'Requests refused by access rules, limit_req, limit_conn or basic_auth', 'counter', 'sum', (s) =>
      Object.entries(s.denials).map(([reason, value]) => ({ value, labels: { reason } })),
    source),
    collected('portico_access_log_dropped_total', 'Access-log lines lost because their destination could not be written', 'counter', 'sum', (s) => [{ value: s.logDrops, labels: {} }], source),
    collected('portico_access_log_errors_total', 'Write or open errors of access-log destinations', 'counter', 'sum', (s) => [{ value: s.logErrors, labels: {} }], source),
    collected('portico_tls_certificate_expiry_timestamp_seconds', 'When each certificate in use expires (Unix time), by server and name', 'gauge', 'max', (s) =>
      s.certificates.flatMap((c) => c.names.map((name) => ({ value: Math.floor(c.notAfter / 1000), labels: { server: c.where, name } }))),
    source),
  ];
  for (const m of metrics) registry.registerMetric(m);
  collectDefaultMetrics({ register: registry });
  return registry;
}
