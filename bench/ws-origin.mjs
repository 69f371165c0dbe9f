#!/usr/bin/env node
// The WebSocket origin of the benchmark: answers the RFC 6455 handshake on any path and echoes
// every frame back unmasked (a close frame is echoed and the connection ended, a ping answered
// with a pong). Any plain HTTP request gets 200 "ok" (the readiness check). Kept lean so the
// origin costs as little CPU per message as a Node process can: one read and one write per
// message, frames parsed in place, no per-connection objects beyond a pending-bytes buffer.
// Usage: node bench/ws-origin.mjs PORT
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';

const port = Number(process.argv[2]);
if (!(port > 0)) {
  console.error('usage: node bench/ws-origin.mjs PORT');
  process.exit(2);
}
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const server = createServer({ requestTimeout: 0, keepAliveTimeout: 75_000 }, (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' });
  res.end('ok\n');
});

server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  const key = req.headers['sec-websocket-key'];
  if (String(req.headers.upgrade).toLowerCase() !== 'websocket' || typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.setTimeout(0);
  socket.setNoDelay(true);
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`, 'latin1');
  echo(socket, head);
});

/** Echoes the frames arriving on `socket`; frames may span chunks and chunks may hold several. */
function echo(socket, head) {
  let pending = null; // bytes of an incomplete frame
  let closed = false;
  const onData = (chunk) => {
    if (closed) return;
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let off = 0;
    let out = null; // one Buffer, or an array when a chunk held several frames
    let end = false;
    while (buf.length - off >= 2) {
      const b0 = buf[off];
      const b1 = buf[off + 1];
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        hdr = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const start = off + hdr + (masked ? 4 : 0);
      if (buf.length < start + len) break;
      const opcode = b0 & 0x0f;
      off = start + len;
      if (opcode === 0x0a) continue; // pong: nothing to answer
      const frame = Buffer.allocUnsafe(hdr + len);
      frame[0] = opcode === 0x09 ? (b0 & 0xf0) | 0x0a : b0; // ping -> pong, else the same FIN/opcode
      frame[1] = b1 & 0x7f;
      for (let i = 2; i < hdr; i++) frame[i] = buf[start - (masked ? 4 : 0) - hdr + i];
      if (masked) {
        const m = start - 4;
        const m0 = buf[m], m1 = buf[m + 1], m2 = buf[m + 2], m3 = buf[m + 3];
        let i = 0;
        for (; i + 4 <= len; i += 4) {
          frame[hdr + i] = buf[start + i] ^ m0;
          frame[hdr + i + 1] = buf[start + i + 1] ^ m1;
          frame[hdr + i + 2] = buf[start + i + 2] ^ m2;
          frame[hdr + i + 3] = buf[start + i + 3] ^ m3;
        }
        for (; i < len; i++) frame[hdr + i] = buf[start + i] ^ buf[m + (i & 3)];
      } else buf.copy(frame, hdr, start, start + len);
      out = out === null ? frame : Array.isArray(out) ? (out.push(frame), out) : [out, frame];
      if (opcode === 0x08) {
        end = true; // close: echo it, then end the connection
        break;
      }
    }
    if (out !== null) socket.write(Array.isArray(out) ? Buffer.concat(out) : out);
    if (end) {
      closed = true;
      socket.end();
      return;
    }
    if (off < buf.length) pending = buf.subarray(off);
  };
  socket.on('data', onData);
  socket.on('end', () => socket.end()); // the http server allows half-open sockets
  if (head.length > 0) onData(head);
}

server.listen({ host: '127.0.0.1', port, backlog: 4096 });
const shutdown = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
