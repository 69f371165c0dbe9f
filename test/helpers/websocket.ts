/**
 * A minimal RFC 6455 WebSocket echo upstream and client, for tests that keep WebSockets open
 * across reloads and upgrades: the client says how its connection ended, with the closing
 * handshake (RFC 6455 §7.1.2, a clean close) or without one (a browser's 1006).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptFor = (key: string) => createHash('sha1').update(key + GUID).digest('base64');
export const OP_TEXT = 0x1;
export const OP_CLOSE = 0x8;

export interface Frame {
  opcode: number;
  payload: Buffer;
}

/** One frame; clients mask (RFC 6455 §5.3), servers do not. */
export function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + ext);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([head, masked]);
}

function decodeFrame(buf: Buffer): { frame: Frame; used: number } | undefined {
  if (buf.length < 2) return undefined;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const key = masked ? buf.subarray(at, at + 4) : undefined;
  if (masked) at += 4;
  if (buf.length < at + len) return undefined;
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (key) for (let i = 0; i < len; i++) payload[i]! ^= key[i & 3]!;
  return { frame: { opcode, payload }, used: at + len };
}

/** Reads frames off a socket as they complete. */
function frames(socket: Socket, each: (f: Frame) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (let d = decodeFrame(buf); d !== undefined; d = decodeFrame(buf)) {
      buf = buf.subarray(d.used);
      each(d.frame);
    }
  });
}

export interface WsEcho {
  address: string;
  /** Open upstream sockets. */
  readonly open: number;
  close(): Promise<void>;
}

/** Echoes text frames; answers a close frame with one and closes (the closing handshake). */
export async function startWsEcho(): Promise<WsEcho> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req, socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
    );
    frames(socket, (f) => {
      if (f.opcode === OP_CLOSE) {
        socket.end(encodeFrame(OP_CLOSE, f.payload, false));
        return;
      }
      socket.write(encodeFrame(f.opcode, f.payload, false));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get open() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface WsClient {
  /** Sends a text frame and resolves with the next frame's text. */
  echo(text: string): Promise<string>;
  /** The closing handshake from the client's side: resolves with how the connection ended. */
  close(): Promise<'clean' | 'abnormal'>;
  /** Resolves when the connection is gone: 'clean' after a close frame from the server, else 'abnormal' (1006). */
  readonly ended: Promise<'clean' | 'abnormal'>;
  destroy(): void;
}

/** Opens a WebSocket to 127.0.0.1:port (over TLS with `tls`), path `path`. */
export function openWs(port: number, path: string, tls?: { ca: string; servername: string }): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tls
      ? tlsConnect({ host: '127.0.0.1', port, ca: tls.ca, servername: tls.servername, ALPNProtocols: ['http/1.1'] })
      : tcpConnect(port, '127.0.0.1');
    const key = randomBytes(16).toString('base64');
    const host = tls ? tls.servername : `127.0.0.1:${port}`;
    socket.once(tls ? 'secureConnect' : 'connect', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`),
    );
    let head: Buffer = Buffer.alloc(0);
    let closeFrame = false;
    const waiting: ((f: Frame) => void)[] = [];
    const ended = new Promise<'clean' | 'abnormal'>((done) => socket.once('close', () => done(closeFrame ? 'clean' : 'abnormal')));
    socket.on('error', reject);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!status.includes(' 101 ')) {
        socket.destroy();
        return reject(new Error(`handshake answered: ${status}`));
      }
      frames(socket, (f) => {
        if (f.opcode === OP_CLOSE) closeFrame = true;
        waiting.shift()?.(f);
      });
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.emit('data', rest);
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve({
        echo: (text) =>
          new Promise<string>((done, fail) => {
            if (socket.destroyed) return fail(new Error('closed'));
            waiting.push((f) => (f.opcode === OP_TEXT ? done(f.payload.toString()) : fail(new Error(`frame ${f.opcode}`))));
            socket.write(encodeFrame(OP_TEXT, Buffer.from(text), true));
          }),
        close: () => {
          const code = Buffer.alloc(2);
          code.writeUInt16BE(1000);
          socket.write(encodeFrame(OP_CLOSE, code, true));
          return ended;
        },
        ended,
        destroy: () => socket.destroy(),
      });
    };
    socket.on('data', onHead);
  });
}
