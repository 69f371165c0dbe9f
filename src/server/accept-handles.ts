/**
 * More accepts per event-loop turn. libuv (1.45 on, so node 20 and later) accepts one
 * connection per turn per listening handle (libuv#3696). Under load a turn lasts milliseconds:
 * measured at 1000 connections opened at once, node took over a second to drain the kernel's
 * accept queue (about 330 accepts/s while busy) and the queue overflowed (dropped SYNs, retried
 * by the client after 1 s and 3 s), where nginx had it empty within 0.2 s. Those waits were
 * (b)'s p99 in docs/benchmarks.md.
 *
 * Several handles on the one listening socket accept that many connections per turn. Node
 * cannot duplicate a descriptor, but a descriptor sent over IPC arrives as a new one: the
 * launcher (cli/malloc-relaunch.ts) sends the listening socket back as often as asked. Every
 * connection accepted on a copy goes to the node server that owns the socket, as if that
 * server had accepted it itself (`emit('connection')`, node's documented injection point).
 * Cluster workers get theirs from the primary (server/workers.ts). A single server without a
 * launcher (not Linux, or MALLOC_TRIM_THRESHOLD_ preset) has one handle, as before.
 */
import { Server as NetServer, type Socket } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';

/** Set by the launcher in the server's environment: how many extra handles to ask for (a
 * cluster worker asks for the default without it: its primary answers). */
export const ACCEPT_COPIES_ENV = 'PORTICO_ACCEPT_COPIES';
/** Four handles in all: see docs/benchmarks.md for the figures by count. */
export const DEFAULT_ACCEPT_COPIES = 3;

const ASK = 'copy-listener';
const COPY = 'listener-copy';

interface CopyMessage {
  portico: typeof ASK | typeof COPY;
  key: number;
  count?: number;
}

function isMessage(m: unknown, kind: CopyMessage['portico']): m is CopyMessage {
  return (m as CopyMessage | null)?.portico === kind && typeof (m as CopyMessage).key === 'number';
}

/** The fields net.Server's constructor stores and applies to every socket it accepts. */
interface NetServerFields {
  allowHalfOpen: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  pauseOnConnect: boolean;
  highWaterMark: number;
  _handle: object | null;
}

const owners = new Map<number, (copy: object) => void>();
let nextKey = 0;
let subscribed = false;

function onCopy(message: unknown, handle: unknown): void {
  if (!isMessage(message, COPY) || handle === undefined) return;
  const adopt = owners.get(message.key);
  if (adopt) adopt(handle as object);
  else (handle as { close(): void }).close(); // its server stopped meanwhile
}

/**
 * Asks the launcher for extra accept handles on `server`'s socket; returns what stops them
 * (with the server: they must not accept once it stopped).
 */
export function addAcceptHandles(server: NetServer): () => void {
  const count = Number(process.env[ACCEPT_COPIES_ENV] ?? (cluster.isWorker ? DEFAULT_ACCEPT_COPIES : 0));
  const own = (server as unknown as NetServerFields)._handle;
  // A cluster worker asks its primary (server/workers.ts), which shares the socket with it.
  if (!(count > 0) || process.send === undefined || own === null) return () => {};
  const fields = server as unknown as NetServerFields;
  const options = {
    allowHalfOpen: fields.allowHalfOpen,
    noDelay: fields.noDelay,
    keepAlive: fields.keepAlive,
    pauseOnConnect: fields.pauseOnConnect,
    highWaterMark: fields.highWaterMark,
  };
  const copies: NetServer[] = [];
  const key = nextKey++;
  owners.set(key, (handle) => {
    const copy = new NetServer(options, (socket: Socket) => server.emit('connection', socket));
    // An accept error on a copy (node emits it on the copy) must not take the process down:
    // the server's own handle keeps accepting.
    copy.on('error', () => copy.close());
    copy.listen(handle);
    copies.push(copy);
  });
  if (!subscribed) {
    subscribed = true;
    // (A 'message' listener refs the IPC channel unless it was unref'd explicitly, as
    // stopWithLauncher does; `portico run` exits by itself after a stop either way.)
    process.on('message', onCopy);
  }
  try {
    process.send({ portico: ASK, key, count } satisfies CopyMessage, own as never);
  } catch {
    owners.delete(key); // a handle node cannot pass on: accept on the one handle, as before
  }
  return () => {
    owners.delete(key);
    for (const copy of copies.splice(0)) copy.close();
  };
}

/** In the launcher: answers a server's request with `count` copies of its listening socket. */
export function serveAcceptHandles(child: ChildProcess): void {
  child.on('message', (message: unknown, handle: unknown) => {
    if (!isMessage(message, ASK) || handle === undefined) return;
    const count = Math.min(Math.max(Math.floor(message.count ?? 0), 0), 64);
    const raw = handle as { close(): void };
    if (count === 0) return raw.close();
    let sent = 0;
    for (let i = 0; i < count; i++) {
      // Each send passes the descriptor (SCM_RIGHTS); ours closes once the last one is written.
      child.send({ portico: COPY, key: message.key } satisfies CopyMessage, raw as never, () => {
        if (++sent === count) raw.close();
      });
    }
  });
}
