/**
 * An origin that records every byte it receives, per connection, and reads them the way a
 * strict HTTP/1.1 server would (RFC 9112: Content-Length or chunked framing, one request after
 * another on a keep-alive connection). Security tests use it to see what really reached the
 * app server: how many requests, with which targets, headers and bodies, on which connection.
 * Each request gets a small JSON answer naming its target and its sequence number, unless
 * `answer` says otherwise; a request the origin cannot frame closes the connection.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface OriginRequest {
  method: string;
  target: string;
  version: string;
  /** [name, value] pairs as received. */
  headers: [string, string][];
  body: Buffer;
  /** Which accepted connection carried it (0-based), and its index on that connection. */
  connection: number;
  indexOnConnection: number;
  /** Sequence number over the origin's life. */
  seq: number;
}

export interface RecordingOrigin {
  port: number;
  address: string;
  /** Every request framed so far, in arrival order. */
  requests: OriginRequest[];
  /** The raw bytes received on each connection, in accept order. */
  received: Buffer[];
  /** Connections on which bytes arrived that could not be framed as a request. */
  unframed: number[];
  sockets: Socket[];
  close(): Promise<void>;
}

export type Answer = (req: OriginRequest, socket: Socket) => string | Buffer | undefined | void;

/** The default answer: 200 with JSON {seq, method, target}. */
export function jsonAnswer(req: OriginRequest): string {
  const body = JSON.stringify({ seq: req.seq, method: req.method, target: req.target, connection: req.connection });
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export async function startRecordingOrigin(answer: Answer = jsonAnswer): Promise<RecordingOrigin> {
  const requests: OriginRequest[] = [];
  const received: Buffer[] = [];
  const unframed: number[] = [];
  const sockets: Socket[] = [];
  let seq = 0;
  const server: Server = createServer((socket) => {
    const connection = sockets.length;
    sockets.push(socket);
    received.push(Buffer.alloc(0));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let onConnection = 0;
    socket.on('data', (d: Buffer) => {
      received[connection] = Buffer.concat([received[connection]!, d]);
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const parsed = frameRequest(buf);
        if (parsed === 'incomplete') return;
        if (parsed === 'invalid') {
          unframed.push(connection);
          socket.destroy();
          return;
        }
        buf = buf.subarray(parsed.used);
        const req: OriginRequest = { ...parsed.req, connection, indexOnConnection: onConnection++, seq: seq++ };
        requests.push(req);
        const out = answer(req, socket);
        if (out !== undefined && !socket.destroyed) socket.write(out);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    requests,
    received,
    unframed,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

type Framed = { req: Omit<OriginRequest, 'connection' | 'indexOnConnection' | 'seq'>; used: number };

/** One request at the start of `buf`, framed strictly (RFC 9112 §6.3). */
export function frameRequest(buf: Buffer): Framed | 'incomplete' | 'invalid' {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length > 65536 ? 'invalid' : 'incomplete';
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0]!);
  if (!m) return 'invalid';
  const headers: [string, string][] = [];
  let length = -1;
  let chunked = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) return 'invalid';
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    headers.push([name, value]);
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (!/^\d+$/.test(value) || (length >= 0 && Number(value) !== length)) return 'invalid';
      length = Number(value);
    } else if (lower === 'transfer-encoding') {
      if (value.toLowerCase() !== 'chunked' || chunked) return 'invalid';
      chunked = true;
    }
  }
  if (chunked && length >= 0) return 'invalid';
  let at = end + 4;
  let body = Buffer.alloc(0);
  if (chunked) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return 'incomplete';
      const size = /^([0-9a-fA-F]+)(;.*)?$/.exec(buf.subarray(at, lineEnd).toString('latin1'));
      if (!size) return 'invalid';
      const n = parseInt(size[1]!, 16);
      at = lineEnd + 2;
      if (n === 0) {
        // No trailers expected from a proxy: the terminating CRLF must follow.
        if (buf.length < at + 2) return 'incomplete';
        if (buf.subarray(at, at + 2).toString('latin1') !== '\r\n') return 'invalid';
        at += 2;
        break;
      }
      if (buf.length < at + n + 2) return 'incomplete';
      parts.push(buf.subarray(at, at + n));
      if (buf.subarray(at + n, at + n + 2).toString('latin1') !== '\r\n') return 'invalid';
      at += n + 2;
    }
    body = Buffer.concat(parts);
  } else if (length > 0) {
    if (buf.length < at + length) return 'incomplete';
    body = Buffer.from(buf.subarray(at, at + length));
    at += length;
  }
  return { req: { method: m[1]!, target: m[2]!, version: m[3]!, headers, body }, used: at };
}
