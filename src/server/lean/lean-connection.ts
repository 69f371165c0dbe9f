/**
 * A lean path for plain HTTP/1.1 connections. node's http server costs about a third of
 * Portico's CPU per small request (IncomingMessage and ServerResponse are streams, with their
 * bookkeeping; docs/benchmarks.md). Most requests a proxy sees are simple: a GET or HEAD with
 * no body, arriving whole in one read. Those are parsed here with node's own parser (llhttp,
 * strict, as node's server uses it) and handed to the same dispatcher through light request
 * and response objects.
 *
 * Anything else — a body, an Upgrade, Expect, HTTP/1.0, `Connection: close`, a head split over
 * reads, pipelined requests, a parse error, too many headers — makes the connection node's:
 * the bytes of the request are put back on the socket and node's http server takes it from
 * there, for good, as if it had accepted it. So every protocol edge (errors, limits, timeouts,
 * smuggling) is decided by node's server exactly as before; the lean path only ever answers
 * what it fully understood.
 */
import type { Socket } from 'node:net';
import { available, closeParserLater, createParser, methods, type NodeHttpParser } from '../../http/http1-parser.js';
import { LeanRequest } from './lean-request.js';
import { LeanResponse, type ResponseOwner } from './lean-response.js';
import { crlfHead } from './line-ends.js';
import { isName } from '../../http/header-name.js';

const GET = methods.indexOf('GET');
const HEAD = methods.indexOf('HEAD');

export interface LeanSettings {
  /** The listener's request handler (dispatch, ACME interception). */
  handle(req: LeanRequest, res: LeanResponse): void;
  /** node's http server takes the socket (its own 'connection' listener). */
  handOff(socket: Socket): void;
  /** A connection that sent nothing within header_timeout: node's 408 (client-error.ts). */
  headerTimeout(socket: Socket): void;
  readonly headerTimeoutMs: number;
  readonly keepAliveMs: number;
  /** What a kept-alive response says of it, made once: node's "Connection: keep-alive" and "Keep-Alive: timeout=N". */
  readonly keepAliveHeader: string;
  readonly maxHeaderSize: number;
  /** Header fields (name and value: two entries each) beyond which node's server answers. */
  readonly maxHeaderFields: number;
  readonly maxUriLength: number;
  /** Open lean connections, for a graceful stop. */
  readonly open: Set<LeanConnection>;
}

/** Requests answered on the lean path, process-wide (tests and diagnostics read it). */
export const leanStats = { requests: 0, handOffs: 0 };

/** Bytes a client may send ahead while its request is answered before we stop reading. */
const MAX_AHEAD = 64 * 1024;

interface Parsed {
  method: string;
  url: string;
  headers: string[];
}

export class LeanConnection implements ResponseOwner {
  #parser: NodeHttpParser | null;
  #res: LeanResponse | null = null;
  #ahead: Buffer[] = [];
  #aheadBytes = 0;
  #served = 0;
  #closing = false;
  /** Closing gently (drain()): requests that come are answered, with Connection: close. */
  #draining = false;
  readonly keepAliveHeader: string;
  readonly tls: boolean;
  /** Filled by the parser callbacks during one execute(). */
  #begun = 0;
  #completed = 0;
  #parsed: Parsed | null = null;
  #eligible = false;
  /** A head with bare LF line ends, read so far (line-ends.ts), and when its header_timeout ends. */
  #partial: Buffer | null = null;
  #partialDeadline: NodeJS.Timeout | null = null;

  constructor(
    readonly socket: Socket,
    readonly settings: LeanSettings,
  ) {
    // A head flushed in pieces (onHeaders) completes with no header list, and a body cannot
    // come without Content-Length or Transfer-Encoding: both end up not eligible by themselves.
    // Without node's parser (http1-parser.ts: the undici fallback) no request is answered here:
    // the first head is still read whole and made CRLF (line-ends.ts), then handed to node's server.
    this.#parser = available
      ? createParser('request', settings.maxHeaderSize, {
          onMessageBegin: this.#onBegin,
          onHeadersComplete: this.#onHeadersComplete,
          onMessageComplete: this.#onComplete,
        })
      : null;
    this.keepAliveHeader = settings.keepAliveHeader;
    this.tls = (socket as { encrypted?: boolean }).encrypted === true;
    settings.open.add(this);
    socket.on('data', this.#onData);
    socket.on('drain', this.#onDrain);
    socket.on('timeout', this.#onTimeout);
    socket.on('error', this.#onError);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    socket.setTimeout(settings.headerTimeoutMs);
  }

  /** Graceful stop: an idle connection closes now, a busy one after its response. */
  close(): void {
    this.#closing = true;
    if (this.#res === null) this.socket.destroy();
    else this.#res.shouldKeepAlive = false;
  }

  /**
   * Draining (an upgrade in place, an address a reload removed): the next response says
   * Connection: close and ends the connection; one still idle after `graceMs` closes then. A
   * client that sent its next request as the drain began is answered rather than reset.
   */
  drain(graceMs: number): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#draining = true;
    if (this.#res !== null) this.#res.shouldKeepAlive = false;
    else this.socket.setTimeout(Math.min(graceMs, this.socket.timeout || graceMs));
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#res !== null) {
      // Sent ahead of our answer: kept for when it is done (node's server does the same).
      this.#ahead.push(chunk);
      this.#aheadBytes += chunk.length;
      if (this.#aheadBytes > MAX_AHEAD) this.socket.pause();
      return;
    }
    this.#serve(chunk);
  };

  #serve(received: Buffer): void {
    if (this.#closing && !this.#draining) return void this.socket.destroy();
    const head = this.#crlfHead(received);
    if (head === undefined) return;
    const chunk = head;
    this.#begun = 0;
    this.#completed = 0;
    this.#parsed = null;
    this.#eligible = false;
    if (this.#parser === null) return this.#handOff(chunk);
    const ret = this.#parser.execute(chunk);
    const parsed = this.#parsed as Parsed | null;
    if (ret !== chunk.length || !this.#eligible || this.#begun !== 1 || this.#completed !== 1 || parsed === null) {
      return this.#handOff(chunk);
    }
    const req = new LeanRequest(this.socket, parsed.method, parsed.url, parsed.headers);
    const res = new LeanResponse(this.socket, this, parsed.method === 'HEAD');
    if (this.#closing) res.shouldKeepAlive = false;
    this.#res = res;
    leanStats.requests++;
    this.settings.handle(req, res);
  }

  /**
   * The bytes to parse, with the head's bare LFs made CRLF (line-ends.ts), or undefined while a
   * head that has them is still arriving (kept, within max_header_size and header_timeout from
   * its first bytes). A head split over reads without any is node's, as before.
   */
  #crlfHead(received: Buffer): Buffer | undefined {
    const buf = this.#partial === null ? received : Buffer.concat([this.#partial, received]);
    const scan = crlfHead(buf);
    if (scan.complete) {
      this.#endPartial();
      return scan.bytes;
    }
    if (!scan.bareLf || buf.length > this.settings.maxHeaderSize) {
      this.#endPartial();
      return buf;
    }
    this.#partial = buf;
    this.#partialDeadline ??= setTimeout(this.#onPartialDeadline, this.settings.headerTimeoutMs);
    return undefined;
  }

  #endPartial(): void {
    this.#partial = null;
    if (this.#partialDeadline !== null) clearTimeout(this.#partialDeadline);
    this.#partialDeadline = null;
  }

  /** A deadline, not an idle timer: a head sent a byte at a time does not extend it (as node's headersTimeout). */
  readonly #onPartialDeadline = (): void => {
    this.#partialDeadline = null;
    if (this.#served === 0) this.settings.headerTimeout(this.socket);
    else this.socket.destroy();
  };

  responseDone(res: LeanResponse, closeAfter: boolean): void {
    if (this.#res !== res) return;
    this.#res = null;
    this.#served++;
    if (closeAfter || this.#closing) {
      // node's destroySoon: the FIN after the last bytes, then the socket is gone.
      this.socket.end(() => this.socket.destroy());
      return;
    }
    // Once: the socket's idle timer restarts with every read and write by itself. node waits
    // a second past the Keep-Alive timeout it advertises (measured: 2s advertised, closed at 3s).
    if (this.#served === 1) this.socket.setTimeout(this.settings.keepAliveMs > 0 ? this.settings.keepAliveMs + 1000 : 0);
    if (this.#ahead.length === 0) return;
    const ahead = this.#ahead.length === 1 ? this.#ahead[0]! : Buffer.concat(this.#ahead);
    this.#ahead = [];
    this.#aheadBytes = 0;
    this.socket.resume();
    this.#serve(ahead);
  }

  /** node's server takes the connection, starting with `pending` (unparsed by it yet). */
  #handOff(pending: Buffer): void {
    const socket = this.socket;
    leanStats.handOffs++;
    this.#detach();
    socket.setTimeout(0);
    const rest = this.#ahead;
    this.#ahead = [];
    socket.unshift(rest.length === 0 ? pending : Buffer.concat([pending, ...rest]));
    this.settings.handOff(socket);
    if (socket.isPaused()) socket.resume();
  }

  #detach(): void {
    this.#endPartial();
    const socket = this.socket;
    socket.off('data', this.#onData);
    socket.off('drain', this.#onDrain);
    socket.off('timeout', this.#onTimeout);
    socket.off('error', this.#onError);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onClose);
    this.settings.open.delete(this);
    const parser = this.#parser;
    this.#parser = null;
    if (parser !== null) closeParserLater(parser);
  }

  readonly #onDrain = (): void => {
    this.#res?.socketDrained();
  };

  readonly #onTimeout = (): void => {
    if (this.#res !== null) return; // a request in flight has its own limits (send_timeout, upstream timeouts)
    if (this.#draining) return void this.socket.destroy(); // idle through the grace: nothing to answer
    if (this.#served === 0) this.settings.headerTimeout(this.socket);
    else this.socket.destroy();
  };

  readonly #onError = (): void => {
    this.socket.destroy();
  };

  /**
   * The client closed its side. As node's server does (httpAllowHalfOpen off): ours closes
   * too, a response in flight is cut short, and 'close' reports it to the dispatcher.
   */
  readonly #onEnd = (): void => {
    this.#closing = true;
    this.#draining = false;
    this.socket.end();
  };

  readonly #onClose = (): void => {
    this.#detach();
    const res = this.#res;
    this.#res = null;
    res?.socketClosed();
  };

  // --- parser callbacks: record only; nothing is acted on inside execute() ---

  readonly #onBegin = (): void => {
    this.#begun++;
  };

  readonly #onHeadersComplete = (
    major: number,
    minor: number,
    headers: string[] | undefined,
    method: number,
    url: string | undefined,
    _status: unknown,
    _reason: unknown,
    upgrade: boolean,
    keepAlive: boolean,
  ): number => {
    const s = this.settings;
    this.#eligible =
      major === 1 && minor === 1 && keepAlive && !upgrade && (method === GET || method === HEAD) &&
      headers !== undefined && url !== undefined && url.charCodeAt(0) === 47 /* / */ &&
      url.length <= s.maxUriLength && headers.length <= s.maxHeaderFields && plainHeaders(headers);
    if (this.#eligible) this.#parsed = { method: methods[method]!, url: url!, headers: headers! };
    return 0;
  };

  readonly #onComplete = (): void => {
    this.#completed++;
  };
}

/**
 * One Host; no body framing, Expect or Upgrade; Connection absent or keep-alive. Anything else
 * is node's server's to judge.
 */
function plainHeaders(headers: string[]): boolean {
  let hosts = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    switch (name.length) {
      case 4:
        if (isName(name, 'host')) hosts++;
        break;
      case 6:
        if (isName(name, 'expect')) return false;
        break;
      case 7:
        if (isName(name, 'upgrade')) return false;
        break;
      case 10:
        if (isName(name, 'connection') && !isName(headers[i + 1]!, 'keep-alive')) return false;
        break;
      case 14:
        if (isName(name, 'content-length')) return false;
        break;
      case 17:
        if (isName(name, 'transfer-encoding')) return false;
        break;
    }
  }
  return hosts === 1;
}
