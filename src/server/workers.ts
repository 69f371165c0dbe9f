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

export function workerCount(setting: 'auto' | number): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

export interface Supervisor {
  /** Graceful stop of every worker (each drains within shutdown_timeout); resolves when all exited. */
  stop(signal: NodeJS.Signals): Promise<void>;
  /** Passes a signal to every live worker (SIGHUP: each reloads its config; SIGUSR1: each reopens its logs). */
  signal(signal: NodeJS.Signals): void;
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
): Supervisor {
  let stopping = false;
  let restartDelay = 100;
  const seen = new Set<string>();

  // Each worker accepts from the shared listening sockets itself (nginx's model), on several
  // handles each (accept-handles.ts; the copies come from here). node's default instead has
  // this process accept and pass each connection to a worker over IPC, one per worker and
  // round trip: a burst of 1000 connections then waited seconds ((b) in docs/benchmarks.md).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const fork = (): Worker => {
    const worker = cluster.fork();
    serveAcceptHandles(worker.process);
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
      if (stopping || exitInfo === undefined || !disconnected) return;
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
  cluster.on('listening', (worker, address) => {
    listening.add(worker);
    for (const signal of waiting.get(worker) ?? []) worker.process.kill(signal);
    waiting.delete(worker);
    const key = `${address.address ?? ''}|${address.port}`;
    if (seen.has(key)) return;
    seen.add(key);
    onListening(address.address ?? '', address.port);
  });
  for (let i = 0; i < count; i++) fork();

  const live = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
  return {
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
