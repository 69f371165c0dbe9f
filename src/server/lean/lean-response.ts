/**
 * The response side of the lean HTTP/1.1 path: a ResponseWriter (src/http/response-writer.ts)
 * writing straight to the socket. The head is what node's OutgoingMessage
 * would write for the same calls (its _storeHeader rules: Date, Connection/Keep-Alive,
 * chunked when there is no Content-Length, no body for HEAD, 1xx, 204 and 304), checked
 * byte for byte against node's in test/server/lean-h1.test.ts.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { fieldLines, statusLine } from '../../http/head.js';
import { WriterBase } from '../../http/response-writer.js';
import { isName } from '../../http/header-name.js';

export interface ResponseOwner {
  /** The response is complete on the wire (or the socket is gone): the next request may start. */
  responseDone(res: LeanResponse, closeAfter: boolean): void;
  /** The Connection (and Keep-Alive) lines of a response that keeps the connection open. */
  readonly keepAliveHeader: string;
  /** TLS: the socket's writes complete a tick later (#lastOf). */
  readonly tls: boolean;
}

const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';
const EMPTY = Buffer.alloc(0);
const DIGITS = /^[0-9]{1,15}$/;
/** A head and body shorter than this are copied into one write (#send): what node's Buffer pool serves. */
const JOIN_LIMIT = Buffer.poolSize >>> 1;

/** node's lines for a kept-alive response: Keep-Alive only when server.keepAliveTimeout is set. */
export function keepAliveHeader(keepAliveMs: number): string {
  return `Connection: keep-alive${CRLF}${keepAliveMs > 0 ? `Keep-Alive: timeout=${Math.floor(keepAliveMs / 1000)}${CRLF}` : ''}`;
}

let dateSecond = 0;
let dateValue = '';

/** node caches its Date header for the current second too. */
function httpDate(): string {
  const now = Date.now();
  const second = now - (now % 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

export class LeanResponse extends WriterBase {
  shouldKeepAlive = true;
  destroyed = false;
  ended = false;
  finished = false;
  #head: string | null = null;
  #headOnWire = false;
  #hasBody: boolean;
  #chunked = false;
  /** Connection: close (asked for, or the body is delimited by closing). */
  #last = false;
  #done = false;
  /** The Content-Length of the head (-1: none, or not a plain number) and the body bytes written so far. */
  #length = -1;
  #sent = 0;
  /** The write that completed the Content-Length body carries #finished (#lastOf)... */
  #lastWrite = false;
  /** ...and was taken by the transport before end(). */
  #bodyFlushed = false;

  constructor(
    readonly socket: Socket,
    readonly owner: ResponseOwner,
    isHead: boolean,
  ) {
    super(isHead);
    this.#hasBody = !isHead;
  }

  get headersSent(): boolean {
    return this.#head !== null;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  protected sendHead(status: number, reason: string, headers: string[]): void {
    if (this.#head !== null) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
    const message = reason || STATUS_CODES[status] || 'unknown';
    // The serializer refuses a bad head (HeadError) before anything here has changed.
    let head = statusLine(status, message) + fieldLines(headers);
    if (status === 204 || status === 304 || (status >= 100 && status <= 199)) this.#hasBody = false;
    let date = false;
    let connection = false;
    let contentLength = false;
    let te = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      switch (name.length) {
        case 4:
          if (isName(name, 'date')) date = true;
          break;
        case 10:
          if (isName(name, 'connection')) {
            connection = true;
            if (/(?:^|\W)close(?:$|\W)/i.test(value)) this.#last = true;
          }
          break;
        case 14:
          if (isName(name, 'content-length')) {
            contentLength = true;
            // Only TLS needs it (#lastOf).
            if (this.owner.tls) this.#length = DIGITS.test(value) ? Number(value) : -1;
          }
          break;
        case 17:
          if (isName(name, 'transfer-encoding')) {
            te = true;
            if (/(?:^|\W)chunked(?:$|\W)/i.test(value)) this.#chunked = true;
          }
          break;
      }
    }
    if (!date) head += `Date: ${httpDate()}${CRLF}`;
    if (!connection) {
      if (this.shouldKeepAlive) head += this.owner.keepAliveHeader;
      else {
        this.#last = true;
        head += `Connection: close${CRLF}`;
      }
    }
    // node frames no body for HEAD, 1xx, 204, 304, whatever the headers say.
    if (!this.#hasBody) this.#chunked = false;
    else if (!contentLength && !te) {
      head += `Transfer-Encoding: chunked${CRLF}`;
      this.#chunked = true;
    }
    this.#head = head + CRLF;
  }

  /** Sends the head now rather than with the first body bytes. */
  flush(): void {
    if (this.#head === null) this.writeHead(this.status, '', []);
    if (this.destroyed || this.socket.writableEnded) return;
    if (!this.#headOnWire) {
      this.#headOnWire = true;
      this.socket.write(this.#head!, 'latin1');
    }
  }

  writeContinue(): void {
    if (!this.destroyed && !this.socket.writableEnded) this.socket.write(`HTTP/1.1 100 Continue${CRLF}${CRLF}`, 'latin1');
  }

  closeConnection(): void {
    this.shouldKeepAlive = false;
  }

  protected sendBody(chunk: Buffer): boolean {
    if (this.destroyed || this.ended || this.socket.writableEnded) return false;
    if (this.#head === null) this.writeHead(this.status, '', []);
    if (!this.#hasBody) return true; // node ignores a body for HEAD, 204, 304
    if (chunk.length === 0) return true;
    return this.#send(chunk, false);
  }

  protected sendEnd(chunk: Buffer | string | undefined): void {
    if (this.ended) return;
    if (this.#head === null) {
      // node: what end() is given before any head makes the Content-Length (of a body allowed one).
      const data = chunk === undefined ? EMPTY : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const s = this.status;
      const bodiless = !this.#hasBody || s === 204 || s === 304 || (s >= 100 && s <= 199);
      this.writeHead(s, '', bodiless ? [] : ['Content-Length', String(data.length)]);
      chunk = data;
    }
    this.ended = true;
    if (this.destroyed || this.socket.writableEnded) return;
    const data = chunk === undefined || !this.#hasBody ? EMPTY : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#send(data, true);
  }

  /** The connection passes every drain of its socket to the response in progress. */
  protected watchDrain(): void {}

  destroy(): void {
    if (!this.destroyed) {
      this.destroyed = true;
      this.socket.destroy();
    }
  }

  /** The socket's buffer emptied (lean-connection.ts). */
  socketDrained(): void {
    this.drained();
  }

  /** The socket closed: before the end, the client went away (node: 'close' without 'finish'). */
  socketClosed(): void {
    if (this.#done) return;
    this.#done = true;
    this.destroyed = true;
    this.closed();
  }

  #send(data: Buffer, last: boolean): boolean {
    const socket = this.socket;
    const head = this.#headOnWire ? null : this.#head;
    this.#headOnWire = true;
    const onWritten = last ? this.#finished : undefined;
    if (this.#chunked) {
      socket.cork();
      if (head !== null) socket.write(head, 'latin1');
      let ok = true;
      if (data.length > 0) {
        socket.write(`${data.length.toString(16)}${CRLF}`, 'latin1');
        socket.write(data);
        ok = socket.write(CRLF, 'latin1');
      }
      if (last) ok = socket.write(LAST_CHUNK, 'latin1', onWritten);
      socket.uncork();
      return ok;
    }
    if (head === null) {
      if (data.length > 0) return socket.write(data, onWritten ?? this.#lastOf(data));
      // The end with nothing left to write: no empty write. It costs a syscall, and on TLS,
      // whose writes complete a tick later (so writableLength is rarely 0 here), a pass
      // through the TLS layer and a 0-byte write(2) per response. The write that completed a
      // Content-Length body carries #finished instead (#lastOf), which ends it once taken.
      if (socket.writableLength === 0 || this.#bodyFlushed) process.nextTick(this.#finished);
      else if (!this.#lastWrite) socket.write(data, onWritten);
      return true;
    }
    if (data.length === 0) return socket.write(head, 'latin1', onWritten);
    const done = onWritten ?? this.#lastOf(data);
    if (head.length + data.length < JOIN_LIMIT) {
      // A small body goes in one buffer with the head: one plain write, where cork and writev
      // cost two queued writes, an array of chunks and the head's encoding inside node's
      // writev. The head is latin1 by construction (head.ts refuses anything above 0xFF).
      // Only below half of node's Buffer pool: a larger buffer is an allocation of its own,
      // which cost more than the writev (static 4 KiB files measured slower).
      const joined = Buffer.allocUnsafe(head.length + data.length);
      joined.write(head, 0, 'latin1');
      data.copy(joined, head.length);
      return socket.write(joined, done);
    }
    socket.cork();
    socket.write(head, 'latin1');
    const ok = socket.write(data, done);
    socket.uncork();
    return ok;
  }

  /**
   * #finished for the write that completes the Content-Length body, else nothing. Only on TLS:
   * a plain socket's write completes at once (its buffer is empty at the end, and a callback
   * would only cost a tick).
   */
  #lastOf(data: Buffer): ((err?: Error | null) => void) | undefined {
    if (!this.owner.tls) return undefined;
    this.#sent += data.length;
    if (this.#sent !== this.#length) return undefined;
    this.#lastWrite = true;
    return this.#finished;
  }

  readonly #finished = (err?: Error | null): void => {
    if (this.#done) return;
    if (err) return; // the socket's 'close' reports it
    if (!this.ended) {
      // The last bytes of a Content-Length body were taken before end(): end() finishes.
      this.#bodyFlushed = true;
      return;
    }
    this.#done = true;
    this.finished = true;
    this.closed();
    this.owner.responseDone(this, this.#last || !this.shouldKeepAlive);
  };
}
