/**
 * Reads the server name (SNI) and the ALPN list from a TLS ClientHello without consuming it:
 * the bytes go back into the socket for node's TLS to read. Needed for ACME TLS-ALPN-01
 * (RFC 8737), whose validation handshake offers only "acme-tls/1" and must get a special
 * certificate; node chooses the certificate (SNICallback) before it looks at ALPN, so the
 * choice has to be made before node sees the connection.
 * Layout: RFC 8446 §4.1.2 (ClientHello), §5.1 (record), RFC 6066 §3 (SNI), RFC 7301 §3.1 (ALPN).
 */
import type { Socket } from 'node:net';

export interface ClientHello {
  servername: string | undefined;
  alpn: string[];
}

const MAX_RECORD = 16384 + 5;

/** Parses the first TLS record; undefined when it is not a whole ClientHello (not TLS, fragmented). */
export function parseClientHello(buf: Buffer): ClientHello | undefined {
  if (buf.length < 5 || buf[0] !== 22) return undefined; // handshake record
  const recordEnd = 5 + buf.readUInt16BE(3);
  if (buf.length < recordEnd || buf[5] !== 1) return undefined; // client_hello
  const helloEnd = 9 + buf.readUIntBE(6, 3);
  if (helloEnd > recordEnd) return undefined; // spans records: not a challenge client
  let at = 9 + 2 + 32; // legacy_version, random
  at += 1 + buf[at]!; // session id
  at += 2 + buf.readUInt16BE(at); // cipher suites
  at += 1 + buf[at]!; // compression methods
  if (at + 2 > helloEnd) return { servername: undefined, alpn: [] };
  const extEnd = at + 2 + buf.readUInt16BE(at);
  at += 2;
  const hello: ClientHello = { servername: undefined, alpn: [] };
  while (at + 4 <= extEnd && extEnd <= helloEnd) {
    const type = buf.readUInt16BE(at);
    const len = buf.readUInt16BE(at + 2);
    const body = buf.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    if (type === 0 && body.length >= 5 && body[2] === 0) hello.servername = body.toString('latin1', 5, 5 + body.readUInt16BE(3)).toLowerCase();
    else if (type === 16 && body.length >= 2) {
      for (let p = 2; p < body.length; p += 1 + body[p]!) hello.alpn.push(body.toString('latin1', p + 1, p + 1 + body[p]!));
    }
  }
  return hello;
}

/**
 * Waits for the first TLS record (bounded in size and time), puts its bytes back, and calls
 * `then` with what it found (undefined: not a parsable ClientHello).
 */
export function peekClientHello(socket: Socket, timeout: number, then: (hello: ClientHello | undefined) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  const done = (hello: ClientHello | undefined) => {
    socket.off('data', onData);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(buf);
    then(hello);
  };
  const onData = (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    if (buf.length >= 5 && buf[0] !== 22) return done(undefined);
    const need = buf.length >= 5 ? 5 + buf.readUInt16BE(3) : MAX_RECORD;
    if (buf.length >= need || buf.length >= MAX_RECORD) done(parseClientHello(buf));
  };
  socket.on('data', onData);
  socket.resume(); // a socket passed on paused, its first bytes put back (server/plain-on-tls.ts)
  socket.on('error', () => socket.destroy());
  socket.setTimeout(timeout, () => socket.destroy());
}
