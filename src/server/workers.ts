/**
 * Multi-core: `workers: auto | N` forks N processes sharing the listening sockets (node's
 * cluster), each accepting from them itself, as nginx's workers do. A worker that dies is
 * replaced, with a growing delay if it keeps dying, so a crash loop cannot spin the CPU. Each worker keeps its own upstream pools, health and
 * rate-limit state, as each nginx worker does without a shared memory zone.
 */
// Primary and workers: SIGUSR1 must never open node's inspector (reopen-signal.ts).
import './reopen-signal.js';
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { ErrorLog } from '../log/error-log.js';
import { serveAcceptHandles } from './accept-handles.js';
import { SERVING_MESSAGE, closeHandle, giveSockets, isUpgradeMessage, requestWorkerSockets, tellDrain, untilWorkerServing, type KeyedSocket } from './handover.js';

export function workerCount(setting: 'auto' | number): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

export interface Supervisor {
  /** Graceful stop of every worker (each drains within shutdown_timeout); resolves when all exited. */
  stop(signal: NodeJS.Signals): Promise<void>;
  /** Passes a signal to every live worker (SIGHUP: each reloads its config; SIGUSR1: each reopens its logs). */
  signal(signal: NodeJS.Signals): void;
  /** A reload changed `workers`: starts more, or lets the extra ones drain and end. */
  resize(count: number): void;
  /** The end of an upgrade in place: every worker drains and ends; resolves when all exited. */
  drain(): Promise<void>;
  /** The listening sockets, from a worker (copies), for the process that takes over. */
  sockets(): Promise<KeyedSocket[]>;
  /** Resolves once the first workers serve (an upgrade's new process tells the launcher then). */
  readonly serving: Promise<void>;
  /** A reload: inherited sockets of listen keys the config no longer has are let go. */
  keepInherited(keys: ReadonlySet<string>): void;
}

export interface SupervisorOptions {
  /**
   * An upgrade in place: the listening sockets of the process being replaced, by listen key;
   * every worker this primary starts listens on them instead of binding (handover.ts).
   */
  inherited?: Map<string, object>;
}

const MAX_RESTART_DELAY_MS = 10_000;

/** Runs in the primary: forks `count` workers, replaces dead ones, stops them on request. */
/** What a worker whose start failed sends its primary (reportStartFailure). */
const START_FAILED = 'start-failed';

/**
 * In a worker whose start failed (an address in use, a certificate missing): the primary says
 * it once, for all workers, and stops if none serves; this worker ends (its IPC channel alone
 * would keep it alive, doing nothing).
 */
export function reportStartFailure(problems: readonly string[]): void {
  process.send!({ portico: START_FAILED, problems }, () => process.exit(1));
}

export function superviseWorkers(
  count: number,
  log: ErrorLog,
  onListening: (address: string, port: number) => void,
  onStartFailed: (problems: readonly string[]) => void,
  options: SupervisorOptions = {},
): Supervisor {
  let stopping = false;
  let restartDelay = 100;
  let wanted = count;
  const seen = new Set<string>();
  const inherited = options.inherited ?? new Map<string, object>();
  /** Workers told to drain (fewer workers, or an upgrade): their end is not a death to repair. */
  const retiring = new WeakSet<Worker>();

  // Each worker accepts from the shared listening sockets itself (nginx's model), on several
  // handles each (accept-handles.ts; the copies come from here). node's default instead has
  // this process accept and pass each connection to a worker over IPC, one per worker and
  // round trip: a burst of 1000 connections then waited seconds ((b) in docs/benchmarks.md).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const fork = (): Worker => {
    const worker = cluster.fork();
    serveAcceptHandles(worker.process);
    giveSockets(worker.process as never, () => [...inherited].map(([key, socket]) => ({ key, socket })));
    worker.on('message', (message: { portico?: string; problems?: string[] } | null) => {
      if (message?.portico !== START_FAILED) return;
      const problems = message.problems ?? [];
      // Before any worker serves, nothing would: stop, as nginx does when it cannot bind.
      // Later (a replacement worker reads a config edited since) the others go on serving.
      if (seen.size === 0 && !stopping) onStartFailed(problems);
      else if (!stopping) log.error('a new worker could not start; the others go on serving', { problems });
    });
    const startedAt = Date.now();
    // Node takes a worker off the shared sockets on 'disconnect', which may come after 'exit':
    // only once both have happened is the death handled (and logged), so the log line means
    // "no new connection goes to it".
    let exitInfo: { code: number | null; signal: string | null } | undefined;
    let disconnected = false;
    const onGone = () => {
      if (stopping || retiring.has(worker) || exitInfo === undefined || !disconnected) return;
      if (live().length >= wanted) return; // fewer workers were asked for meanwhile
      // A worker that lived a while died of something transient: restart at once. One that
      // dies right after starting is crash-looping: back off.
      const quick = Date.now() - startedAt < 2000;
      restartDelay = quick ? Math.min(restartDelay * 2, MAX_RESTART_DELAY_MS) : 100;
      log.error('worker died; starting a new one', { pid: worker.process.pid, ...exitInfo, restart_in_ms: restartDelay });
      setTimeout(() => {
        if (!stopping) fork();
      }, restartDelay).unref();
    };
    worker.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      onGone();
    });
    worker.once('disconnect', () => {
      disconnected = true;
      onGone();
    });
    return worker;
  };

  // A worker takes SIGHUP and SIGUSR1 only once it runs Portico (node's defaults would kill
  // it, or open its inspector): until it listens, a signal for it waits here.
  const listening = new WeakSet<Worker>();
  const waiting = new WeakMap<Worker, Set<NodeJS.Signals>>();
  const ready = (worker: Worker, address: { address?: string | null; port: number }) => {
    listening.add(worker);
    for (const signal of waiting.get(worker) ?? []) worker.process.kill(signal);
    waiting.delete(worker);
    const key = `${address.address ?? ''}|${address.port}`;
    if (seen.has(key)) return;
    seen.add(key);
    onListening(address.address ?? '', address.port);
  };
  cluster.on('listening', ready);
  // A socket inherited in an upgrade is listened on in the worker alone (node's cluster hears
  // nothing of it): the worker's own word that it serves says the same.
  cluster.on('message', (worker, m: unknown) => {
    if (isUpgradeMessage(m, SERVING_MESSAGE)) for (const a of (m as { addresses?: { host: string; port: number }[] }).addresses ?? []) ready(worker, { address: a.host, port: a.port });
  });
  const first = Array.from({ length: count }, () => fork());
  const serving = Promise.all(first.map((w) => untilWorkerServing(w.process as never))).then(() => undefined);

  const live = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead() && !retiring.has(w));
  const retire = (w: Worker): Promise<void> =>
    new Promise<void>((resolve) => {
      retiring.add(w);
      if (w.isDead()) return resolve();
      w.once('exit', () => resolve());
      tellDrain(w.process);
    });
  return {
    serving,
    resize(n) {
      wanted = n;
      const workers = live();
      for (let i = workers.length; i < n; i++) fork();
      for (const w of workers.slice(n)) void retire(w);
      if (workers.length !== n) log.info('workers changed', { from: workers.length, to: n });
    },
    drain() {
      stopping = true;
      return Promise.all(live().map(retire)).then(() => undefined);
    },
    async sockets() {
      const w = live().find((x) => listening.has(x));
      if (w === undefined) return [];
      return requestWorkerSockets(w.process as never);
    },
    keepInherited(keys) {
      for (const [key, socket] of inherited) {
        if (keys.has(key)) continue;
        inherited.delete(key);
        closeHandle(socket);
      }
    },
    signal(signal) {
      for (const w of live()) {
        if (listening.has(w)) w.process.kill(signal);
        else waiting.set(w, (waiting.get(w) ?? new Set()).add(signal));
      }
    },
    stop(signal) {
      stopping = true;
      const workers = live();
      return Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              w.once('exit', () => resolve());
              w.process.kill(signal);
            }),
        ),
      ).then(() => undefined);
    },
  };
}

export const isPrimary = (): boolean => cluster.isPrimary;
