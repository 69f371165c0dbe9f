/**
 * Support for the spool security tests: an upstream of large responses, HTTP/2 clients that
 * never read (window 0, streams paused), and a sampler of the bytes Portico's temp files hold
 * on disk (read from /proc/self/fd: Portico runs in-process).
 */
import { createServer, type ServerResponse } from 'node:http';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';

export interface BigUpstream {
  address: string;
  /** Body bytes the upstream handed to its sockets' write callbacks (flushed to the kernel). */
  flushed: number;
  /** Responses started / finished / closed (finished or cut). */
  started: number;
  finished: number;
  closed: number;
  close(): Promise<void>;
}

const PIECE = Buffer.alloc(64 * 1024, 'b');

/** GET /big/...: `size` bytes (Content-Length), written with backpressure; anything else: "ok". */
export async function startBigUpstream(size: number): Promise<BigUpstream> {
  const up: BigUpstream = { address: '', flushed: 0, started: 0, finished: 0, closed: 0, close: async () => {} };
  const server = createServer((req, res) => {
    if (!req.url!.startsWith('/big/')) return res.end('ok');
    up.started++;
    res.once('finish', () => up.finished++);
    res.once('close', () => up.closed++);
    sendBig(res, size, (n) => (up.flushed += n));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  up.close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return up;
}

function sendBig(res: ServerResponse, size: number, flushed: (n: number) => void): void {
  res.writeHead(200, { 'Content-Length': size, 'Content-Type': 'application/octet-stream' });
  let left = size;
  const pump = () => {
    while (left > 0) {
      const piece = left >= PIECE.length ? PIECE : PIECE.subarray(0, left);
      left -= piece.length;
      const ok = res.write(piece, (err) => {
        if (!err) flushed(piece.length);
      });
      if (!ok) return void res.once('drain', pump);
    }
    res.end();
  };
  res.once('close', () => (left = 0));
  pump();
}

/** Portico's temp files right now: their descriptors' targets and the sum of their sizes. */
export function tempFileBytes(): { bytes: number; targets: string[] } {
  let bytes = 0;
  const targets: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (!target.includes(`portico-${process.pid}-`)) continue;
      bytes += statSync(`/proc/self/fd/${fd}`).size;
      targets.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return { bytes, targets };
}

/** Records the largest tempFileBytes() seen, every few milliseconds, until stopped. */
export class TempSampler {
  max = 0;
  samples = 0;
  readonly targets = new Set<string>();
  readonly #timer: NodeJS.Timeout;

  constructor() {
    this.#timer = setInterval(() => {
      const now = tempFileBytes();
      this.samples++;
      if (now.bytes > this.max) this.max = now.bytes;
      for (const t of now.targets) this.targets.add(t);
    }, 5);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export interface H2Portico {
  portico: TestPortico;
  url: string;
  ca: string;
}

/** Portico with one HTTPS (h2) server proxying everything to `upstream`. */
export async function startH2Portico(
  dataDir: string,
  upstream: string,
  extra: Omit<PorticoConfigInput, 'servers'> = {},
  proxy: Record<string, unknown> = {},
): Promise<H2Portico> {
  const portico = await startPortico({
    ...extra,
    data_dir: dataDir,
    servers: [{ tls: 'internal', routes: [{ path: '/', proxy: { to: upstream, ...proxy } }] }],
  });
  const ca = await readFile(join(dataDir, 'pki/authorities/local/root.crt'), 'utf8');
  return { portico, url: `https://localhost:${portico.port}`, ca };
}

/** An HTTP/2 session that opens `streams` requests for `path` and never reads a byte (window 0). */
export function neverReading(h2: H2Portico, streams: number, path: (i: number) => string): ClientHttp2Session {
  const session = h2connect(h2.url, { ca: h2.ca, settings: { initialWindowSize: 0 } });
  session.on('error', () => {});
  for (let i = 0; i < streams; i++) {
    const stream = session.request({ ':path': path(i) });
    stream.on('error', () => {});
    stream.pause();
  }
  return session;
}

/** One GET over `session`: status and body. */
export function h2Get(session: ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let status = 0;
    const parts: Buffer[] = [];
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => resolve({ status, body: Buffer.concat(parts).toString() }));
    stream.on('error', reject);
    stream.end();
  });
}
