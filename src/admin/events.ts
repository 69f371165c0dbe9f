/**
 * GET /events: the dashboard's server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html),
 * one `snapshot` event a second for every open dashboard, all built from one stats request.
 * Ticking stops when the last dashboard closes. A dashboard that does not read its events is
 * dropped once a megabyte waits for it, so a stalled tab cannot grow the server's memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminBackend } from './backend.js';
import { DashboardModel, type DashboardSnapshot } from './model.js';

const TICK_MS = 1_000;
const MAX_BACKLOG = 1024 * 1024;

export class EventHub {
  readonly #clients = new Set<ServerResponse>();
  #model = new DashboardModel();
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #last: DashboardSnapshot | undefined;

  constructor(readonly backend: AdminBackend) {}

  get clients(): number {
    return this.#clients.size;
  }

  open(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    if (this.#last) res.write(event({ ...this.#last, tail: this.#model.recentTail() }));
    this.#clients.add(res);
    req.socket.setNoDelay(true);
    res.once('close', () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0) this.#stop();
    });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.#tick(), TICK_MS);
      void this.#tick();
    }
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return; // the previous answer is still coming (a busy worker)
    this.#ticking = true;
    try {
      const raw = await this.backend.stats(this.#model.tailAfter);
      const snap = this.#model.update(raw);
      this.#last = snap;
      const text = event(snap);
      for (const res of this.#clients) {
        if (res.writableLength > MAX_BACKLOG) res.destroy();
        else res.write(text);
      }
    } catch {
      // the next tick tries again
    } finally {
      this.#ticking = false;
    }
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    // History starts again with the next dashboard: nothing is kept while nobody looks.
    this.#model = new DashboardModel();
    this.#last = undefined;
  }

  close(): void {
    for (const res of this.#clients) res.destroy();
    this.#clients.clear();
    this.#stop();
  }
}

function event(snap: DashboardSnapshot): string {
  return `event: snapshot\ndata: ${JSON.stringify(snap)}\n\n`;
}
