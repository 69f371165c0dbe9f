/**
 * Active health checks (Caddy health_uri & co, nginx Plus health_check): every `interval`,
 * GET (or HEAD) `path` on the server (or on a separate `port`), over a fresh connection dialled
 * the way requests are (TCP, TLS or unix socket). A check passes when the status is in range
 * and the body contains `body` (if given), all within `timeout`. The response is read to its
 * end before the connection closes, whatever the verdict: hanging up after the head made the
 * server's next write fail (gunicorn logs "Ignoring EPIPE", Django's runserver "Broken pipe"
 * on every check). `fails` consecutive failures make a
 * healthy server unhealthy; `passes` consecutive passes make it healthy again, and also clear
 * its passive failures, so a restarted server gets traffic as soon as its check passes.
 * Servers start healthy; the first check runs as soon as the checker starts.
 */
import { request, type IncomingMessage } from 'node:http';
import type { Transport } from '../transport.js';
import type { HostState } from '../host-state.js';
import type { Clock, Timer } from '../clock.js';
import { headProbe } from './head-probe.js';

export interface ActiveCheckConfig {
  /** GET, or HEAD when the response's body is not needed (no `body` to look for). */
  method?: 'GET' | 'HEAD';
  path: string;
  interval: number;
  timeout: number;
  /** Inclusive range of passing statuses. */
  status: [number, number];
  body: string | undefined;
  passes: number;
  fails: number;
  /** Extra headers, flat [name, value, ...]; a Host among them replaces the default. */
  headers: string[];
}

export interface HealthEvents {
  changed(state: HostState, healthy: boolean, reason: string): void;
}

const MAX_BODY = 64 * 1024;

export class HealthChecker {
  #timer: Timer | null = null;
  #running = false;
  #inFlight: Promise<boolean> | null = null;
  #passes = 0;
  #fails = 0;
  /** Checks done, for tests and a status page. */
  checks = 0;

  constructor(
    readonly transport: Transport,
    readonly config: ActiveCheckConfig,
    readonly state: HostState,
    readonly clock: Clock,
    readonly events: HealthEvents,
  ) {}

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#tick();
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = null;
  }

  readonly #tick = (): void => {
    this.#timer = null;
    void this.checkNow().then(() => {
      if (this.#running) this.#timer = this.clock.after(this.config.interval, this.#tick);
    });
  };

  /** Runs one check (or joins the one running) and applies its verdict; resolves with it. */
  checkNow(): Promise<boolean> {
    this.#inFlight ??= this.#probe().then(({ ok, reason }) => {
      this.#inFlight = null;
      this.checks++;
      this.#record(ok, reason);
      return ok;
    });
    return this.#inFlight;
  }

  #record(ok: boolean, reason: string): void {
    const s = this.state;
    if (ok) {
      this.#fails = 0;
      this.#passes++;
      if (!s.healthy && this.#passes >= this.config.passes) {
        s.healthy = true;
        s.fails = 0; // passive failures are forgiven: the server proved itself
        this.events.changed(s, true, reason);
      }
    } else {
      this.#passes = 0;
      this.#fails++;
      if (s.healthy && this.#fails >= this.config.fails) {
        s.healthy = false;
        this.events.changed(s, false, reason);
      }
    }
  }

  #probe(): Promise<{ ok: boolean; reason: string }> {
    return this.config.method === 'HEAD' ? this.#probeHead() : this.#probeGet();
  }

  #headers(): string[] {
    const cfg = this.config;
    const hasHost = cfg.headers.some((_, i) => i % 2 === 0 && cfg.headers[i]!.toLowerCase() === 'host');
    const headers = hasHost ? [...cfg.headers] : ['Host', this.transport.authority, ...cfg.headers];
    headers.push('User-Agent', 'portico-health-check', 'Connection', 'close');
    return headers;
  }

  async #probeHead(): Promise<{ ok: boolean; reason: string }> {
    const cfg = this.config;
    const probe = headProbe(() => this.transport.dial(), cfg.path, this.#headers());
    let timedOut = false;
    const timer = this.clock.after(cfg.timeout, () => {
      timedOut = true;
      probe.abort();
    });
    const r = await probe.result;
    timer.cancel();
    if (timedOut) return { ok: false, reason: `no answer within ${cfg.timeout}ms` };
    if ('error' in r) return { ok: false, reason: r.error };
    return { ok: r.status >= cfg.status[0] && r.status <= cfg.status[1], reason: `status ${r.status}` };
  }

  #probeGet(): Promise<{ ok: boolean; reason: string }> {
    const cfg = this.config;
    return new Promise((resolve) => {
      let done = false;
      /** `complete`: the response was read to its end, and node closes the connection itself. */
      const finish = (ok: boolean, reason: string, complete = false) => {
        if (done) return;
        done = true;
        timer.cancel();
        if (!complete) req.destroy();
        resolve({ ok, reason });
      };
      const req = request({
        method: 'GET',
        path: cfg.path,
        headers: this.#headers(),
        setHost: false,
        // No `agent`: with one, node ignores createConnection (agent: false makes a new Agent).
        createConnection: () => this.transport.dial(),
      });
      const timer = this.clock.after(cfg.timeout, () => finish(false, `no answer within ${cfg.timeout}ms`));
      req.on('error', (err: Error & { code?: string }) => finish(false, err.code ?? err.message));
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const inRange = status >= cfg.status[0] && status <= cfg.status[1];
        const wanted = inRange ? cfg.body : undefined;
        // Only the first MAX_BODY characters are searched; the rest is read and dropped.
        let text = '';
        let matched = false;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (wanted === undefined || matched || text.length > MAX_BODY) return;
          text += chunk;
          matched = text.includes(wanted);
        });
        res.on('end', () => {
          if (!inRange) finish(false, `status ${status}`, true);
          else if (wanted === undefined) finish(true, `status ${status}`, true);
          else finish(matched, matched ? `status ${status}, body matched` : 'body did not contain the expected text', true);
        });
        res.on('aborted', () => finish(false, 'response broke off'));
        res.on('error', () => finish(false, 'response broke off'));
      });
      req.end();
    });
  }
}

/**
 * Checkers of this process by server and check settings, shared by every config that asks for
 * the same check: a reload that keeps a pool keeps its checker running (its counts too), and
 * the last config to let go stops it.
 */
export class CheckerRegistry {
  readonly #checkers = new Map<string, { checker: HealthChecker; refs: number }>();

  acquire(key: string, create: () => HealthChecker): HealthChecker {
    let entry = this.#checkers.get(key);
    if (!entry) {
      entry = { checker: create(), refs: 0 };
      this.#checkers.set(key, entry);
      entry.checker.start();
    }
    entry.refs++;
    return entry.checker;
  }

  release(key: string): void {
    const entry = this.#checkers.get(key);
    if (!entry) return;
    if (--entry.refs === 0) {
      entry.checker.stop();
      this.#checkers.delete(key);
    }
  }

  get size(): number {
    return this.#checkers.size;
  }
}

export const checkerRegistry = new CheckerRegistry();
