/**
 * With `workers`, one admin listener answers for all of them: it runs in the primary, which
 * asks each worker over the cluster IPC channel and joins the answers. /metrics goes through
 * prom-client's AggregatorRegistry (each worker's registry as JSON, summed per series by each
 * metric's aggregator); /status, the dashboard, drains and reloads through the small request /
 * reply protocol below. A drain is remembered here too and given to workers started later.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { hostRegistry, type AdminState } from '../upstream/host-state.js';
import { mergeStats, type RawStats } from '../metrics/snapshot.js';
import { localBackend, processRegistry, type AdminBackend, type LocalParts, type ReloadOutcome, type ServerInfo } from './backend.js';

interface Request {
  portico: 'admin';
  id: number;
  op: 'stats' | 'state' | 'reload';
  tailAfter?: Record<number, number>;
  address?: string;
  state?: AdminState;
}

interface Reply {
  portico: 'admin-reply';
  id: number;
  result?: unknown;
  error?: string;
}

/** A worker tells the primary it answers requests (and gets the admin states set so far). */
interface Hello {
  portico: 'admin-hello';
}

interface Overrides {
  portico: 'admin-overrides';
  states: [string, AdminState][];
}

const REPLY_TIMEOUT_MS = 5_000;

/** In a worker: answer the primary's admin requests from this process's state. */
export function answerPrimary(parts: LocalParts): () => void {
  const local = localBackend(parts);
  AggregatorRegistry.setRegistries([processRegistry(parts.view)]);
  new AggregatorRegistry(); // prom-client's own worker listener for clusterMetrics()
  const onMessage = (msg: unknown): void => {
    const m = msg as { portico?: string; states?: [string, AdminState][] } & Partial<Omit<Request, 'portico'>> | null;
    if (m?.portico === 'admin-overrides') {
      for (const [address, state] of m.states ?? []) hostRegistry.setAdmin(address, state);
      return;
    }
    if (m?.portico !== 'admin' || typeof m.id !== 'number') return;
    const id = m.id;
    const run = async (): Promise<unknown> => {
      if (m.op === 'stats') return local.stats(m.tailAfter);
      if (m.op === 'state') return local.setServerState(m.address!, m.state!);
      if (m.op === 'reload') return local.reload();
      throw new Error(`unknown admin request ${String(m.op)}`);
    };
    run().then(
      (result) => process.send?.({ portico: 'admin-reply', id, result } satisfies Reply),
      (err: Error) => process.send?.({ portico: 'admin-reply', id, error: err.message } satisfies Reply),
    );
  };
  process.on('message', onMessage);
  process.send?.({ portico: 'admin-hello' } satisfies Hello);
  return () => process.off('message', onMessage);
}

/** In the primary: the backend that asks every worker. */
export function clusterBackend(info: () => ServerInfo): AdminBackend {
  const aggregator = new AggregatorRegistry();
  const ready = new Set<Worker>();
  const pending = new Map<number, { replies: unknown[]; waiting: number; done: (r: unknown[]) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  cluster.on('message', (worker: Worker, msg: unknown) => {
    const m = msg as { portico?: string } & Partial<Omit<Reply, 'portico'>> | null;
    if (m?.portico === 'admin-hello') {
      ready.add(worker);
      worker.send({ portico: 'admin-overrides', states: hostRegistry.adminOverrides() } satisfies Overrides);
      return;
    }
    if (m?.portico !== 'admin-reply') return;
    const p = pending.get(m.id!);
    if (!p) return;
    if (m.error === undefined) p.replies.push(m.result);
    if (--p.waiting === 0) finish(m.id!);
  });
  cluster.on('exit', (worker) => ready.delete(worker));
  const finish = (id: number): void => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    clearTimeout(p.timer);
    p.done(p.replies);
  };
  /** Replies of every worker that answers within the timeout (a worker being replaced may not). */
  const ask = (req: Omit<Request, 'portico' | 'id'>): Promise<unknown[]> =>
    new Promise((resolve) => {
      const id = nextId++;
      const workers = [...ready].filter((w) => w.isConnected());
      if (workers.length === 0) return resolve([]);
      const timer = setTimeout(() => finish(id), REPLY_TIMEOUT_MS);
      timer.unref();
      pending.set(id, { replies: [], waiting: workers.length, done: resolve, timer });
      for (const w of workers) w.send({ portico: 'admin', id, ...req } satisfies Request);
    });
  return {
    async metrics() {
      return { contentType: aggregator.contentType, text: await aggregator.clusterMetrics() };
    },
    async stats(tailAfter) {
      const replies = (await ask({ op: 'stats', tailAfter })) as RawStats[];
      return mergeStats(replies.length > 0 ? replies : []);
    },
    async setServerState(address, state) {
      hostRegistry.setAdmin(address, state); // for workers started later
      await ask({ op: 'state', address, state });
    },
    async reload() {
      const replies = (await ask({ op: 'reload' })) as ReloadOutcome[];
      if (replies.length === 0) return { ok: false, problems: ['no worker answered'], warnings: [] };
      const problems = [...new Set(replies.flatMap((r) => r.problems))];
      const warnings = [...new Set(replies.flatMap((r) => r.warnings))];
      return { ok: replies.every((r) => r.ok), problems, warnings };
    },
    info,
  };
}
