/**
 * Test support for the proxy tests: a raw HTTP/1.1 client on a `net` socket (node's http
 * client normalizes headers and framing, which is exactly what some tests must observe),
 * a small response parser, a node:http client that keeps raw headers, and bounded waits.
 */
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { request } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';

/** Rejects after `ms` so a broken test fails instead of hanging. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds (bounded), for state another socket changes asynchronously. */
export async function eventually(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await delay(10);
  }
}

export interface RawResponse {
  status: number;
  reason: string;
  /** [name, value] pairs as sent. */
  headers: [string, string][];
  body: Buffer;
  /** The response's bytes exactly as received (head and body). */
  raw: Buffer;
}

/** Every value of a header (case-insensitive name). */
export function all(res: RawResponse, name: string): string[] {
  const lower = name.toLowerCase();
  return res.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** The single value of a header; fails the test when it is repeated. */
export function one(res: RawResponse, name: string): string | undefined {
  const values = all(res, name);
  if (values.length > 1) throw new Error(`header ${name} sent ${values.length} times: ${JSON.stringify(values)}`);
  return values[0];
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Parses one response at the start of `buf`. Returns undefined when more bytes are needed
 * (`ended`: the peer closed, which completes a close-delimited body).
 */
export function parseResponse(buf: Buffer, noBody: boolean, ended: boolean): { res: RawResponse; used: number } | undefined {
  const end = buf.indexOf(CRLFCRLF);
  if (end < 0) {
    if (ended && buf.length > 0) throw new Error(`connection closed inside a response head: ${JSON.stringify(buf.toString('latin1'))}`);
    return undefined;
  }
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]!);
  if (!m) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
  const status = Number(m[1]);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  const start = end + 4;
  const make = (bodyEnd: number, body: Buffer) => ({
    res: { status, reason: m[2]!, headers, body, raw: buf.subarray(0, bodyEnd) },
    used: bodyEnd,
  });
  const partial = { status, reason: m[2]!, headers, body: Buffer.alloc(0), raw: Buffer.alloc(0) };
  if (noBody || status < 200 || status === 204 || status === 304) return make(start, Buffer.alloc(0));
  const te = all(partial, 'transfer-encoding');
  if (te.length > 0 && /chunked\s*$/i.test(te.join(','))) {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      at = lineEnd + 2;
      if (size === 0) {
        // Trailers (none expected) end with an empty line.
        const trailerEnd = buf.indexOf('\r\n', at);
        if (trailerEnd < 0) return undefined;
        if (trailerEnd !== at) throw new Error('unexpected trailers');
        return make(at + 2, Buffer.concat(parts));
      }
      if (buf.length < at + size + 2) return undefined;
      parts.push(buf.subarray(at, at + size));
      at += size + 2;
    }
  }
  const cl = one(partial, 'content-length');
  if (cl !== undefined) {
    const n = Number(cl);
    if (buf.length < start + n) return undefined;
    return make(start + n, buf.subarray(start, start + n));
  }
  // Delimited by the connection closing.
  if (!ended) return undefined;
  return make(buf.length, buf.subarray(start));
}

/** A raw HTTP/1.1 connection: write bytes, read parsed responses, see the close. */
export class RawClient {
  buf = Buffer.alloc(0);
  ended = false;
  readonly closed: Promise<void>;
  #wake: (() => void) | null = null;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.#notify();
    });
    socket.on('error', () => {}); // resets are part of several tests; 'close' follows
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.#notify();
        resolve();
      }),
    );
    socket.on('end', () => {
      this.ended = true;
      this.#notify();
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await within(once(socket, 'connect'), 5000, 'connect');
    return new RawClient(socket);
  }

  /** The same over TLS, HTTP/1.1 chosen by ALPN. */
  static async connectTls(port: number, ca: string, servername = 'localhost'): Promise<RawClient> {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername, ALPNProtocols: ['http/1.1'] });
    await within(once(socket, 'secureConnect'), 5000, 'TLS handshake');
    return new RawClient(socket);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next response; `head` when it answers a HEAD request (no body however framed). */
  async response(opts: { head?: boolean; ms?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (opts.ms ?? 10_000);
    for (;;) {
      const parsed = parseResponse(this.buf, opts.head ?? false, this.ended);
      if (parsed) {
        this.buf = this.buf.subarray(parsed.used);
        return parsed.res;
      }
      if (this.ended) throw new Error(`connection closed before a full response; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no full response in time; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
      await within(new Promise<void>((resolve) => (this.#wake = resolve)), left, 'response bytes').catch(() => {});
    }
  }

  /** Waits for the peer to close; returns whatever bytes arrived and were not parsed. */
  async untilClosed(ms = 5000): Promise<Buffer> {
    await within(this.closed, ms, 'the connection to close');
    return this.buf;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One request on a fresh raw connection; returns the parsed response. */
export async function rawRequest(port: number, data: string | Buffer, opts: { head?: boolean } = {}): Promise<RawResponse> {
  const client = await RawClient.connect(port);
  try {
    client.write(data);
    return await client.response(opts);
  } finally {
    client.destroy();
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: Buffer;
}

/** node:http request without connection reuse; keeps raw headers. */
export function http(
  url: string,
  opts: { method?: string; headers?: Record<string, string> | string[]; body?: Buffer | string } = {},
): Promise<HttpResult> {
  return within(
    new Promise<HttpResult>((resolve, reject) => {
      let headers = opts.headers;
      // node sends no Host of its own when headers come as a raw list.
      if (Array.isArray(headers) && rawValues(headers, 'host').length === 0) headers = ['Host', new URL(url).host, ...headers];
      const req = request(url, { method: opts.method ?? 'GET', headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(opts.body);
    }),
    15_000,
    `${opts.method ?? 'GET'} ${url}`,
  );
}

/** A JSON body from the echo upstream. */
export function json<T = { method: string; url: string; headers: Record<string, string | string[]> }>(r: { body: Buffer }): T {
  return JSON.parse(r.body.toString()) as T;
}

/** Every value of a header in a raw header list [name, value, ...]. */
export function rawValues(rawHeaders: readonly string[], name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === lower) out.push(rawHeaders[i + 1]!);
  return out;
}

export interface RawUpstream {
  server: NetServer;
  port: number;
  address: string;
  /** Every connection accepted, in order. */
  sockets: Socket[];
  close(): Promise<void>;
}

/** A TCP server on loopback speaking whatever the test writes; closes every socket on close(). */
export async function startRawUpstream(onConnection: (socket: Socket) => void): Promise<RawUpstream> {
  const sockets: Socket[] = [];
  const server = createNetServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Splits a raw byte stream into request heads ("GET / HTTP/1.1\r\n..."), for raw upstreams without bodies. */
export function onRequestHeads(socket: Socket, each: (head: string, index: number) => void): void {
  let buf = '';
  let n = 0;
  socket.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let end: number;
    while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      each(head, n++);
    }
  });
}

/** A port nothing listens on (bound once, then closed). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
