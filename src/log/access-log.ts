/**
 * The access log: one line per request in nginx's `combined` format (default) or JSON, to
 * stdout, stderr or a file. Writes go through sonic-boom (pino.destination), which batches
 * lines while a write is in flight, so logging costs one string per request.
 */
import { pino } from 'pino';
import type { Exchange } from '../http/exchange.js';

type Destination = ReturnType<typeof pino.destination>;

export interface AccessLogConfig {
  format: 'combined' | 'json';
  output: string;
}

export class AccessLog {
  readonly #dest: Destination;
  readonly #format: (ex: Exchange, status: number) => string;
  /** A file path; false for stdout/stderr. */
  readonly #file: boolean;

  constructor(cfg: AccessLogConfig) {
    const dest = cfg.output === 'stdout' ? 1 : cfg.output === 'stderr' ? 2 : cfg.output;
    this.#file = typeof dest === 'string';
    // maxWrite 4096 (PIPE_BUF): each write holds whole lines and is atomic, so the lines of
    // several workers sharing stdout or a file never interleave mid-line.
    this.#dest = pino.destination({ dest, sync: false, mkdir: typeof dest === 'string', maxWrite: 4096 });
    this.#dest.on('error', () => {}); // a full disk must not take the server down
    this.#format = cfg.format === 'json' ? jsonLine : combinedLine;
  }

  write(ex: Exchange, status: number): void {
    this.#dest.write(this.#format(ex, status));
  }

  /**
   * SIGUSR1 (nginx's USR1 / `nginx -s reopen`): the file is opened again by its path, so lines
   * written after logrotate renamed it go to a fresh file there (sonic-boom finishes the write in
   * flight first, and creates the directory again if it is gone). stdout and stderr are the
   * process's own: nothing to reopen.
   */
  reopen(): void {
    if (!this.#file) return;
    try {
      this.#dest.reopen();
    } catch {
      // the destination is closed (the server is stopping)
    }
  }

  /**
   * Writes out what is buffered. A file is opened asynchronously: lines written before it is
   * open are held, and flushSync() on a destination not yet open throws and loses them (a
   * server stopped right after its first requests left an empty or missing log). So a file
   * that is not open yet is waited for, at most a second.
   */
  async flush(): Promise<void> {
    const dest = this.#dest as Destination & { fd?: number; destroyed?: boolean };
    if (this.#file && dest.fd === -1 && !dest.destroyed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          dest.off('ready', done);
          dest.off('error', done);
          resolve();
        };
        const timer = setTimeout(done, 1000);
        dest.once('ready', done);
        dest.once('error', done);
      });
    }
    try {
      this.#dest.flushSync();
    } catch {
      // the destination may already be closed
    }
  }
}

function header(ex: Exchange, lower: string): string {
  const raw = ex.req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === lower.length && raw[i]!.toLowerCase() === lower) return raw[i + 1]!;
  return '';
}

/** nginx escapes '"', '\' and bytes outside printable ASCII as \xHH in log variables. */
function esc(text: string): string {
  if (!/[\x00-\x1f"\\\x7f-\uffff]/.test(text)) return text;
  return text.replace(/[\x00-\x1f"\\\x7f-\uffff]/g, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? c : '\\x' + code.toString(16).toUpperCase().padStart(2, '0');
  });
}

// $time_local is formatted once per second, not per request.
let cachedSecond = -1;
let cachedTime = '';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function timeLocal(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    const d = new Date(now);
    const offset = -d.getTimezoneOffset();
    const sign = offset >= 0 ? '+' : '-';
    const abs = Math.abs(offset);
    const p2 = (n: number) => String(n).padStart(2, '0');
    cachedTime =
      `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
      `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ` +
      `${sign}${p2(Math.floor(abs / 60))}${p2(abs % 60)}`;
    cachedSecond = second;
  }
  return cachedTime;
}

function dash(text: string): string {
  return text === '' ? '-' : esc(text);
}

/** $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" */
function combinedLine(ex: Exchange, status: number): string {
  const req = ex.req;
  return (
    `${ex.clientIp} - ${dash(ex.remoteUser)} [${timeLocal()}] "${esc(`${req.method} ${req.url} HTTP/${req.httpVersion}`)}" ${status} ${ex.base.bytesSent} ` +
    `"${dash(header(ex, 'referer'))}" "${dash(header(ex, 'user-agent'))}"\n`
  );
}

function jsonLine(ex: Exchange, status: number): string {
  const req = ex.req;
  return (
    JSON.stringify({
      time: new Date().toISOString(),
      remote_addr: ex.clientIp,
      peer: ex.peerIp,
      remote_user: ex.remoteUser || undefined,
      method: req.method,
      uri: req.url,
      protocol: `HTTP/${req.httpVersion}`,
      host: ex.hostHeader,
      status,
      bytes_sent: ex.base.bytesSent,
      duration_ms: Math.round((performance.now() - ex.startedAt) * 1000) / 1000,
      route: ex.routeName,
      upstream: ex.upstream,
      upstream_cache_status: ex.cacheStatus || undefined, // nginx $upstream_cache_status
      referer: header(ex, 'referer') || undefined,
      user_agent: header(ex, 'user-agent') || undefined,
    }) + '\n'
  );
}
