/**
 * Keep-alive connections to one upstream address, whichever client carries them (node's parser:
 * h1/, or undici: undici/). Idle connections are reused most recent first (the least likely to
 * have been closed by the upstream meanwhile); at most `maxConnections` exist, and requests
 * beyond that wait in order. A connection carries one request at a time: it comes back through
 * `release` once per clean response (its state says so), and `forget` counts it out once.
 */
import type { ResponseSink, UpstreamPool, UpstreamRequest } from './h1/types.js';
import type { Transport } from './transport.js';

export interface PoolOptions {
  connectTimeout: number;
  /** Idle connections are closed after this long. */
  keepAliveTimeout: number;
  maxConnections: number;
}

/**
 * idle: carries no request (new, or parked in the pool); busy: carries one; free: its response
 * ended cleanly and it waits for the pool to take it back (once); closed: destroyed.
 */
export type ConnectionState = 'idle' | 'busy' | 'free' | 'closed';

/** One upstream connection, as its pool sees it. */
export interface PooledConnection {
  readonly state: ConnectionState;
  send(req: UpstreamRequest, sink: ResponseSink): void;
  /** The pool keeps this free connection for a later request. */
  park(): void;
  destroy(): void;
}

export interface ConnectionOwner<C> {
  /** The response is complete and the connection can carry another request (state 'free'). */
  release(conn: C): void;
  /** The connection is gone (closed, failed, aborted). */
  forget(conn: C): void;
}

interface Waiting {
  req: UpstreamRequest;
  sink: ResponseSink;
}

export abstract class ConnectionPool<C extends PooledConnection> implements UpstreamPool, ConnectionOwner<C> {
  readonly #idle: C[] = [];
  readonly #queue: Waiting[] = [];
  readonly #all = new Set<C>();
  #open = 0;
  #closed = false;

  constructor(
    readonly transport: Transport,
    readonly options: PoolOptions,
  ) {}

  /** A new connection (not yet connected) owned by this pool. */
  protected abstract dial(): C;

  /**
   * Sends a request. `fresh` skips idle connections (a retry after a keep-alive race) and may
   * exceed the connection limit by that one connection.
   */
  request(req: UpstreamRequest, sink: ResponseSink, fresh = false): void {
    if (!fresh) {
      const idle = this.#idle.pop();
      if (idle !== undefined && idle.state === 'idle') return idle.send(req, sink);
      if (this.#open >= this.options.maxConnections) {
        this.#queue.push({ req, sink });
        return;
      }
    }
    this.#connect().send(req, sink);
  }

  /** Removes a request still waiting for a connection (its client went away). */
  cancel(sink: ResponseSink): void {
    const i = this.#queue.findIndex((w) => w.sink === sink);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  get stats(): { open: number; idle: number; waiting: number } {
    return { open: this.#open, idle: this.#idle.length, waiting: this.#queue.length };
  }

  release(conn: C): void {
    // Only a connection whose response just ended cleanly: a second call for the same response,
    // or one for a busy, parked or closed connection, changes nothing.
    if (conn.state !== 'free') return;
    const next = this.#queue.shift();
    if (next !== undefined) return conn.send(next.req, next.sink);
    if (this.#closed) return conn.destroy();
    conn.park();
    this.#idle.push(conn);
  }

  forget(conn: C): void {
    if (!this.#all.delete(conn)) return; // counted out already
    this.#open--;
    const i = this.#idle.lastIndexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    // A slot is free: the first waiting request gets a new connection.
    const next = this.#closed ? undefined : this.#queue.shift();
    if (next !== undefined) this.#connect().send(next.req, next.sink);
  }

  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.destroy();
  }

  /** Closes every connection, busy ones included (their requests fail). */
  destroy(): void {
    this.close();
    this.#queue.length = 0;
    for (const conn of [...this.#all]) conn.destroy();
  }

  #connect(): C {
    this.#open++;
    const conn = this.dial();
    this.#all.add(conn);
    return conn;
  }
}
