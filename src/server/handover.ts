/**
 * Upgrade in place (nginx's USR2, https://nginx.org/en/docs/control.html#upgrade): a new
 * server process, running the code now on disk, takes over the listening sockets of the one
 * serving, which then stops accepting and drains: its requests, long downloads and WebSockets
 * finish (or meet `shutdown_timeout`), while every new connection goes to the new process. No
 * socket is closed and bound again, so no connection is refused in between.
 *
 * The launcher (cli/malloc-relaunch.ts) does it, on SIGUSR2 (`portico upgrade`): the process whose
 * pid is in the pid file stays, so systemd's main pid, the pid file and `kill -HUP` go on
 * working, and only the server under it is replaced. The sockets travel as descriptors over
 * the IPC channels (SCM_RIGHTS), as the accept handles do (accept-handles.ts):
 *
 *   launcher -> old server     handover                 (send your listening sockets)
 *   old server -> launcher     socket {key} + handle    (one per listen address), handover-done
 *   new server -> launcher     inherit                  (when PORTICO_INHERIT_SOCKETS is set)
 *   launcher -> new server     socket {key} + handle ..., inherit-done
 *   new server -> launcher     serving                  (listening and serving)
 *   launcher -> old server     drain                    (stop accepting, finish, exit)
 *
 * With workers the primary speaks for them: it takes the sockets from a worker, and gives the
 * inherited ones to each worker it starts (workers.ts). If the new server fails to start, the
 * old one never stopped: the upgrade is abandoned with one log line.
 */
import type { ChildProcess } from 'node:child_process';

/** Set in a new server's environment by the launcher: ask for the sockets before binding. */
export const INHERIT_ENV = 'PORTICO_INHERIT_SOCKETS';

const HANDOVER = 'handover';
const SOCKET = 'listening-socket';
const HANDOVER_DONE = 'handover-done';
const INHERIT = 'inherit';
const INHERIT_DONE = 'inherit-done';
const SERVING = 'serving';
const DRAIN = 'drain';
const UPGRADE = 'upgrade';

/** A listening socket and the listen key it serves ("*:8080"). */
export interface KeyedSocket {
  key: string;
  socket: object;
  /** The sender's own (it goes on listening): not closed once sent, even when the others are copies. */
  keep?: boolean;
}

/** A message of this protocol with kind `kind`. */
export function isUpgradeMessage(m: unknown, kind: string): m is { portico: string; key?: string } {
  return (m as { portico?: unknown } | null)?.portico === kind;
}

/** Something with an IPC channel: a child process, a cluster worker's process, or this process. */
interface Channel {
  send(message: unknown, handle?: never, cb?: (err: Error | null) => void): boolean;
  on(event: 'message', fn: (m: unknown, handle: unknown) => void): unknown;
  off(event: 'message', fn: (m: unknown, handle: unknown) => void): unknown;
}

/** Closes a socket handle we only carried (ours is a copy: the owner's goes on listening). */
export function closeHandle(handle: object): void {
  try {
    (handle as { close(): void }).close();
  } catch {
    // already closed
  }
}

/** Sends `sockets` one by one, then `done`; `after` runs once every descriptor was written. */
function sendSockets(to: Channel, sockets: readonly KeyedSocket[], done: string, after: () => void = () => {}): void {
  let left = sockets.length;
  for (const s of sockets) {
    to.send({ portico: SOCKET, key: s.key }, s.socket as never, () => {
      if (--left === 0) after();
    });
  }
  to.send({ portico: done });
  if (sockets.length === 0) after();
}

/** Collects sockets sent by sendSockets until `done`; rejects after `ms`. */
function receiveSockets(from: Channel, done: string, ms: number): Promise<KeyedSocket[]> {
  return new Promise((resolve, reject) => {
    const got: KeyedSocket[] = [];
    const timer = setTimeout(() => {
      from.off('message', on);
      for (const s of got) closeHandle(s.socket);
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
    const on = (m: unknown, handle: unknown) => {
      if (isUpgradeMessage(m, SOCKET) && typeof m.key === 'string' && handle !== undefined) got.push({ key: m.key, socket: handle as object });
      else if (isUpgradeMessage(m, done)) {
        clearTimeout(timer);
        from.off('message', on);
        resolve(got);
      }
    };
    from.on('message', on);
  });
}

// --- the launcher's side ---

/** Asks a server for its listening sockets (copies: it keeps accepting on its own). */
export function requestSockets(server: ChildProcess, ms = 10_000): Promise<KeyedSocket[]> {
  const received = receiveSockets(server as unknown as Channel, HANDOVER_DONE, ms);
  server.send({ portico: HANDOVER });
  return received;
}

/** Gives `sockets` to a new server when it asks; closes the launcher's copies once sent. */
export function offerSockets(server: ChildProcess, sockets: readonly KeyedSocket[]): void {
  const channel = server as unknown as Channel;
  const on = (m: unknown) => {
    if (!isUpgradeMessage(m, INHERIT)) return;
    channel.off('message', on);
    sendSockets(channel, sockets, INHERIT_DONE, () => sockets.forEach((s) => closeHandle(s.socket)));
  };
  channel.on('message', on);
  server.once('exit', () => {
    channel.off('message', on);
  });
}

/** Resolves true once `server` says it serves, false if it exits first. */
export function untilServing(server: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (!isUpgradeMessage(m, SERVING)) return;
      server.off('message', on);
      server.off('exit', gone);
      resolve(true);
    };
    const gone = () => {
      server.off('message', on);
      resolve(false);
    };
    server.on('message', on);
    server.once('exit', gone);
  });
}

/** Tells the old server (or a worker) to stop accepting and drain. */
export function tellDrain(server: { send(m: unknown): boolean }): void {
  try {
    server.send({ portico: DRAIN });
  } catch {
    // gone already
  }
}

/** A server asked for an upgrade (a reload changed the process layout): `fn` runs the upgrade. */
export function onUpgradeRequest(server: ChildProcess, fn: () => void): void {
  server.on('message', (m: unknown) => {
    if (isUpgradeMessage(m, UPGRADE)) fn();
  });
}

// --- a server's side (a single server, a cluster primary, or a worker asking its primary) ---

/** The sockets the process being replaced listened on, by key; undefined when this is no upgrade. */
export async function inheritSockets(from: Channel | undefined = processChannel(), ms = 10_000): Promise<Map<string, object> | undefined> {
  if (from === undefined) return undefined;
  const received = receiveSockets(from, INHERIT_DONE, ms);
  from.send({ portico: INHERIT });
  return new Map((await received).map((s) => [s.key, s.socket]));
}

/** This process's channel to its launcher when it was started to take over (INHERIT_ENV). */
function processChannel(): Channel | undefined {
  if (process.env[INHERIT_ENV] === undefined || process.send === undefined) return undefined;
  return process as unknown as Channel;
}

/**
 * Answers the launcher's (or primary's) handover: `sockets()` says what this process listens
 * on. `carried`: they are copies this process only passes on (a primary's, from a worker),
 * closed once sent.
 */
export function answerHandover(sockets: () => KeyedSocket[] | Promise<KeyedSocket[]>, carried = false, to: Channel = process as unknown as Channel): void {
  to.on('message', (m: unknown) => {
    if (!isUpgradeMessage(m, HANDOVER)) return;
    void Promise.resolve(sockets()).then(
      (list) => sendSockets(to, list, HANDOVER_DONE, () => carried && list.forEach((s) => s.keep !== true && closeHandle(s.socket))),
      () => sendSockets(to, [], HANDOVER_DONE),
    );
  });
}

/** Runs `fn` when told to drain (the process that replaces this one serves, or a primary has fewer workers). */
export function onDrainRequest(fn: () => void, from: Channel = process as unknown as Channel): void {
  from.on('message', (m: unknown) => {
    if (isUpgradeMessage(m, DRAIN)) fn();
  });
}

/** Tells the launcher (or the primary) that this process serves, and on which addresses. */
export function tellServing(addresses: readonly { host: string; port: number }[] = [], to: { send?: (m: unknown) => boolean } = process): void {
  to.send?.({ portico: SERVING, addresses: addresses.map((a) => ({ host: a.host, port: a.port })) });
}

export const SERVING_MESSAGE = SERVING;

/** Asks the launcher to replace this process (with the file as it is now). */
export function askUpgrade(): boolean {
  if (process.send === undefined) return false;
  process.send({ portico: UPGRADE });
  return true;
}

/** Gives a worker the sockets it asks for (the primary's side of inheritSockets for a worker). */
export function giveSockets(worker: Channel, sockets: () => readonly KeyedSocket[]): void {
  worker.on('message', (m: unknown) => {
    if (isUpgradeMessage(m, INHERIT)) sendSockets(worker, sockets(), INHERIT_DONE);
  });
}

/** In a primary: asks one worker for its listening sockets (requestSockets for a worker). */
export function requestWorkerSockets(worker: Channel, ms = 10_000): Promise<KeyedSocket[]> {
  const received = receiveSockets(worker, HANDOVER_DONE, ms);
  worker.send({ portico: HANDOVER });
  return received;
}

/** Resolves once `worker` says it serves (false: it went away first). */
export function untilWorkerServing(worker: Channel & { once(e: 'exit', fn: () => void): unknown }): Promise<boolean> {
  return untilServing(worker as unknown as ChildProcess);
}
