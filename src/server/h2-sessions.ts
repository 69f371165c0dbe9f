/**
 * Bookkeeping for the HTTP/2 side of a TLS listener: node's HTTP/2 server has no keep-alive
 * timeout and no closeAllConnections(), so idle sessions are closed here after the same 75s
 * an idle HTTP/1.1 connection gets (nginx's keepalive_timeout covers both), and a graceful
 * stop sends GOAWAY to every session (streams in flight finish) before destroying the rest.
 * A session with open streams is not idle: a quiet SSE or long poll must not be cut.
 */
import type { Http2Server, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';

export class H2Sessions {
  /** Open streams per session. */
  readonly #sessions = new Map<ServerHttp2Session, number>();

  constructor(server: Http2Server, idleTimeout: number) {
    server.on('session', (session: ServerHttp2Session) => {
      this.#sessions.set(session, 0);
      session.setTimeout(idleTimeout, () => {
        if (this.#sessions.get(session) === 0) session.close();
      });
      session.once('close', () => this.#sessions.delete(session));
      session.on('error', () => session.destroy());
    });
    server.on('stream', (stream: ServerHttp2Stream) => {
      const session = stream.session as ServerHttp2Session;
      this.#sessions.set(session, (this.#sessions.get(session) ?? 0) + 1);
      stream.once('close', () => {
        const open = this.#sessions.get(session);
        if (open !== undefined) this.#sessions.set(session, open - 1);
      });
    });
  }

  /** GOAWAY: no new streams; the session closes once its streams are done. */
  closeAll(): void {
    for (const session of this.#sessions.keys()) if (!session.closed) session.close();
  }

  destroyAll(): void {
    for (const session of this.#sessions.keys()) session.destroy();
    this.#sessions.clear();
  }
}
