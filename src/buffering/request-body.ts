/**
 * Request buffering (nginx proxy_request_buffering on): the whole body is read from the client
 * (memory up to `memory`, then a private temp file) before the upstream is contacted, so a
 * client trickling an upload never holds a sync worker (gunicorn's deploy docs). The upstream
 * then gets it at loopback speed with a Content-Length: a chunked upload is de-chunked, since
 * WSGI apps read an empty body without one (Django ticket #28668).
 *
 * The body limit is enforced as bytes arrive (413 as soon as it is exceeded), the body timeout
 * between reads (408), and the spool is destroyed in every outcome: used, refused, or the
 * client gone. The body's temp file counts against `temp_files` (spool-budget.ts): while others
 * hold the budget the client is not read; a body that could never fit in it gets 413.
 */
import { Readable } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import type { RequestBody } from '../http/request.js';
import type { ErrorLog } from '../log/error-log.js';
import { Spool } from './spool.js';
import type { SpoolBudget } from './spool-budget.js';
import { armBodyTimeout } from '../limits/body-timeout.js';
import { rejectRequest } from '../limits/discard.js';
import { sendError } from '../http/send.js';

export interface RequestBufferingOptions {
  /** Largest body accepted; Infinity: no limit. */
  maxBodySize: number;
  memory: number;
  bodyTimeout: number;
  log: ErrorLog;
  /** The process's temp-file budget; the body counts against its client connection's share. */
  budget: SpoolBudget;
  /**
   * Keep the body until the exchange ends, so that a retry can send it again (a route whose
   * balancer retries). Its memory and temp file stay counted against the budget meanwhile.
   */
  keep?: boolean;
}

export interface BufferedBody {
  length: number;
  /** The body, read back from memory and disk. */
  stream: Readable;
  /** With `keep`: the same bytes again, from the first, for another try. */
  replay?: () => Readable;
}

export function bufferRequestBody(ex: Exchange, req: RequestBody, opts: RequestBufferingOptions, onBody: (body: BufferedBody) => void): void {
  const spool = new Spool({ memory: opts.memory, file: Infinity, budget: opts.budget, account: opts.budget.accountOf(ex.connection) });
  let done = false;
  const stop = () => {
    done = true;
    disarm();
    req.off('data', onData);
    req.off('end', onEnd);
    spool.onSpace = null;
    spool.onStuck = null;
  };
  const onData = (chunk: Buffer) => {
    if (spool.total + chunk.length > opts.maxBodySize) {
      stop();
      spool.destroy();
      return rejectRequest(ex, 413);
    }
    if (!spool.push(chunk)) {
      if (spool.error) return failDisk(spool.error);
      if (spool.stuck) return tooLarge();
      // Out of write credit this turn, or the temp-file budget is held by others: the client
      // waits (body_timeout still applies), memory does not grow.
      req.pause();
    }
  };
  /** Larger than temp_files lets one body be: it could never be sent (nginx has no such cap). */
  const tooLarge = () => {
    stop();
    spool.destroy();
    opts.log.warn('request body larger than temp_files allows', { route: ex.routeName, bytes: spool.total });
    rejectRequest(ex, 413);
  };
  const onEnd = () => {
    stop();
    // node's HTTP/2 requests end even when the stream was reset (after 'aborted'): that body
    // is cut short. And DATA that disagrees with content-length is malformed (RFC 9113 §8.1.1;
    // HTTP/1.1's parser frames by the length itself). Neither reaches the upstream.
    if (req.aborted || (ex.contentLength >= 0 && spool.total !== ex.contentLength)) {
      spool.destroy();
      if (!req.aborted) sendError(ex, 400);
      return;
    }
    spool.end();
    ex.abortUpstream = null;
    if (!opts.keep) return onBody({ length: spool.total, stream: spoolStream(spool) });
    // Freed when the exchange ends (writer.onClose below), whatever the tries did.
    const replay = () => readerStream(spool.reader());
    onBody({ length: spool.total, stream: replay(), replay });
  };
  const failDisk = (err: Error) => {
    stop();
    spool.destroy();
    opts.log.error('cannot buffer request body', { route: ex.routeName, err: err.message });
    ex.writer.closeConnection();
    sendError(ex, 500);
  };
  const disarm = armBodyTimeout(ex, opts.bodyTimeout, () => {
    if (done) return;
    stop();
    spool.destroy();
    // The client went quiet mid-body: its connection cannot carry another request.
    ex.writer.closeConnection();
    sendError(ex, 408);
  });
  spool.onSpace = () => {
    if (!done) req.resume();
  };
  spool.onStuck = () => {
    if (!done) tooLarge();
  };
  // The client going away, and every other end of the exchange, frees the spool.
  ex.abortUpstream = () => {
    stop();
    spool.destroy();
  };
  ex.writer.onClose(() => spool.destroy());
  req.on('data', onData);
  req.on('end', onEnd);
}

/** A Readable over one reader of a kept spool (Spool.reader): destroying it frees nothing. */
function readerStream(read: ReturnType<Spool['reader']>): Readable {
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      read((err, chunk) => {
        if (err) this.destroy(err);
        else this.push(chunk);
      });
    },
  });
}

/** A Readable over a spool that was ended; destroying it (or reaching its end) frees the spool. */
function spoolStream(spool: Spool): Readable {
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      spool.read((err, chunk) => {
        if (err) this.destroy(err);
        else this.push(chunk);
      });
    },
    destroy(err, cb) {
      spool.destroy();
      cb(err);
    },
  });
}
