/**
 * glibc's malloc gives freed heap back to the kernel as soon as 128 KiB lie free at its top
 * (M_TRIM_THRESHOLD) and takes it back, page fault by page fault, on the next allocations. A
 * proxy moving large bodies allocates and frees 64 KiB socket buffers all the time: measured,
 * 70-150 minor page faults per proxied 1 MiB response and two to three times the CPU of the
 * same process with the threshold raised (docs/benchmarks.md). The threshold is read once, from
 * the environment, when the process starts (node offers no mallopt), so `portico run` starts
 * itself again with it set — once — passes signals on, and exits as its child does.
 *
 * The child watches an IPC channel to this process: if the launcher dies, even by SIGKILL,
 * the server stops too instead of living on as an orphan that holds the ports. The launcher
 * also runs upgrades in place (SIGUSR2, server/handover.ts).
 */
import { onReopenSignal } from '../server/reopen-signal.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import cluster from 'node:cluster';
import { ACCEPT_COPIES_ENV, DEFAULT_ACCEPT_COPIES, serveAcceptHandles } from '../server/accept-handles.js';
import { INHERIT_ENV, closeHandle, offerSockets, onUpgradeRequest, requestSockets, tellDrain, untilServing } from '../server/handover.js';

const TUNED = 'PORTICO_MALLOC_TUNED';
/** The launcher's pid, for the child's pid file: signals sent there reach the child too. */
const LAUNCHER_PID = 'PORTICO_LAUNCHER_PID';
/** Freed heap kept for reuse before any is returned to the kernel. */
const TRIM_THRESHOLD = String(64 * 1024 * 1024);
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGHUP'];
const STOPS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'];
/** Signals whose default would kill the child (SIGHUP) or open its inspector (SIGUSR1) until it handles them. */
const HELD: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGUSR1'];
const HANGUP_READY = 'sighup-handled';
/**
 * node 22.14 / 23.7 and later can turn off the inspector's SIGUSR1 for the whole life of a
 * process, from before any JavaScript runs; node 20 cannot (server/reopen-signal.ts covers it there).
 */
const NO_USR1_INSPECTOR = process.allowedNodeEnvironmentFlags.has('--disable-sigusr1') ? ['--disable-sigusr1'] : [];

/** One server process under the launcher: its signals held until it handles them. */
class ServerChild {
  readonly process: ChildProcess;
  #ready = false;
  readonly #held = new Set<NodeJS.Signals>();

  constructor(args: readonly string[], env: NodeJS.ProcessEnv) {
    this.process = spawn(process.execPath, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env });
    serveAcceptHandles(this.process);
    // SIGHUP would kill a child that has not set its handler yet, SIGUSR1 would open its
    // inspector: held until it says it handles them (each delivered once then).
    this.process.on('message', (message: unknown) => {
      if ((message as { portico?: string } | null)?.portico !== HANGUP_READY) return;
      this.#ready = true;
      for (const signal of this.#held) this.process.kill(signal);
      this.#held.clear();
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    if (this.#ready || !HELD.includes(signal)) this.process.kill(signal);
    else this.#held.add(signal);
  }
}

/**
 * In the launcher: runs the server as a child and resolves with its exit code. undefined when
 * this process should serve itself: not Linux, tuned already, or the child. SIGUSR2 (`portico
 * upgrade`) replaces the child by a new one that takes over its listening sockets
 * (server/handover.ts); the launcher stays, and so does the pid in the pid file.
 */
export function relaunchTuned(): Promise<number> | undefined {
  if (process.platform !== 'linux' || process.env[TUNED] !== undefined || process.env.MALLOC_TRIM_THRESHOLD_ !== undefined) return undefined;
  const args = [...process.execArgv, ...NO_USR1_INSPECTOR, ...process.argv.slice(1)];
  const env = {
    ...process.env,
    [TUNED]: '1',
    [LAUNCHER_PID]: String(process.pid),
    MALLOC_TRIM_THRESHOLD_: TRIM_THRESHOLD,
    [ACCEPT_COPIES_ENV]: process.env[ACCEPT_COPIES_ENV] ?? String(DEFAULT_ACCEPT_COPIES),
  };
  let current = new ServerChild(args, env);
  /** Old servers of upgrades, draining: stop signals reach them too. */
  const draining = new Set<ServerChild>();
  let upgrading = false;
  let finish: (code: number) => void = () => {};
  const exitCode = (code: number | null, signal: NodeJS.Signals | null) => code ?? 128 + (signal ? constants.signals[signal] : 0);
  const watch = (child: ServerChild) => {
    child.process.once('error', (err) => {
      if (child !== current) return;
      process.stderr.write(`portico: could not start the server process: ${err.message}\n`);
      finish(1);
    });
    // A shell's convention for a child killed by a signal: 128 + its number.
    child.process.once('exit', (code, signal) => {
      draining.delete(child);
      if (child === current && !upgrading) finish(exitCode(code, signal));
    });
    onUpgradeRequest(child.process, () => void upgrade());
  };

  const upgrade = async (): Promise<void> => {
    if (upgrading) return note('an upgrade is already under way');
    upgrading = true;
    const old = current;
    try {
      const sockets = await requestSockets(old.process).catch((err: Error) => {
        throw new Error(`the running server did not hand over its sockets: ${err.message}`);
      });
      note(`upgrade: starting a new server process with the ${sockets.length} listening socket(s) of pid ${old.process.pid}`);
      const next = new ServerChild(args, { ...env, [INHERIT_ENV]: '1' });
      offerSockets(next.process, sockets);
      watch(next);
      if (!(await untilServing(next.process))) {
        for (const s of sockets) closeHandle(s.socket);
        throw new Error('the new server process stopped before serving');
      }
      current = next;
      if (old.process.exitCode === null && old.process.signalCode === null) {
        draining.add(old);
        tellDrain(old.process);
      }
      note(`upgrade: pid ${next.process.pid} serves; pid ${old.process.pid} drains`);
    } catch (err) {
      note(`upgrade failed, the running server goes on: ${(err as Error).message}`);
    } finally {
      upgrading = false;
      // The server being replaced ended meanwhile, and nothing took over: end as it did.
      if (current === old && (old.process.exitCode !== null || old.process.signalCode !== null)) finish(exitCode(old.process.exitCode, old.process.signalCode));
    }
  };

  watch(current);
  const forward = (signal: NodeJS.Signals) => {
    current.signal(signal);
    // A stop is for every server of this launcher, the draining ones included.
    if (STOPS.includes(signal)) for (const d of draining) d.signal(signal);
  };
  for (const signal of FORWARDED) process.on(signal, () => forward(signal));
  onReopenSignal(() => forward('SIGUSR1'));
  process.on('SIGUSR2', () => void upgrade());
  return new Promise((resolve) => (finish = resolve));
}

function note(line: string): void {
  process.stderr.write(`portico: ${line}\n`);
}

/** In the child, once it handles SIGHUP (and SIGUSR1, from its first import): tells the launcher it may pass them on. */
export function hangupHandled(): void {
  // Not from a cluster worker: its channel leads to the primary, which gates SIGHUP itself.
  if (process.env[TUNED] !== undefined && !cluster.isWorker) process.send?.({ portico: HANGUP_READY });
}

/** In the child: stop as on SIGTERM when the launcher is gone. */
export function stopWithLauncher(stop: () => void): void {
  // Started with an IPC channel (process.send stays defined after it closes).
  if (process.env[TUNED] === undefined || typeof process.send !== 'function') return;
  // The launcher may have gone while this process was still starting: 'disconnect' was
  // emitted before anyone listened (a loaded machine widened that window; the server then
  // outlived its launcher for good).
  if (!process.connected || process.channel === undefined) return stop();
  process.channel.unref(); // the channel alone must not keep the process alive
  process.once('disconnect', stop);
}

/** The pid a signal for this server goes to: the launcher's when it started this process, else ours. */
export function signalPid(): number {
  const launcher = Number(process.env[LAUNCHER_PID]);
  return process.env[TUNED] !== undefined && Number.isInteger(launcher) && launcher === process.ppid ? launcher : process.pid;
}

/** Whether this process is a server under the launcher, which runs upgrades in place. */
export function underLauncher(): boolean {
  return process.env[TUNED] !== undefined && !cluster.isWorker && typeof process.send === 'function' && process.connected;
}
