/**
 * An HTTP/2 request body streamed upstream (buffering.request: false) with its content-length.
 * HTTP/2 frames a body by DATA frames and END_STREAM; content-length only announces it, and a
 * request whose DATA disagrees is malformed (RFC 9113 §8.1.1). HTTP/1.1 toward the upstream is
 * framed by that Content-Length alone, so the upstream takes the request as complete the
 * moment that many bytes arrived, while the client's stream may still go on to disagree. So
 * the last chunk read is held back until the stream ended with exactly the announced length;
 * a stream that ends otherwise or is reset leaves the upstream request short of bytes, and its
 * connection is closed (the upstream client aborts on the body's error), answered 400 when no
 * response was sent yet. With buffering (the default) the whole body is read, and its length
 * checked, before the upstream is contacted (buffering/request-body.ts).
 */
import { Transform, type Readable } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import type { RequestBody } from '../http/request.js';
import { sendError } from '../http/send.js';

export function completeBody(ex: Exchange, req: RequestBody): Readable {
  const length = ex.contentLength;
  let held: Buffer | null = null;
  let seen = 0;
  const refuse = () => {
    out.destroy(new Error('request body does not match its content-length'));
    ex.abortUpstream?.();
    if (ex.writer.headersSent) ex.writer.destroy();
    else if (!ex.writer.destroyed) sendError(ex, 400);
  };
  const out = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > length) return void refuse();
      const previous = held;
      held = chunk;
      done(null, previous ?? undefined);
    },
    flush(done) {
      // node ends an HTTP/2 request whose stream was reset too, after 'aborted'.
      if (req.aborted) return void out.destroy(new Error('client stream reset'));
      if (seen !== length) return void refuse();
      done(null, held ?? undefined);
      held = null;
    },
  });
  out.on('error', () => {}); // reported to the upstream client by its own listener, or moot
  // A reset stream: the upstream request stays short and is aborted.
  req.once('aborted', () => out.destroy(new Error('client stream reset')));
  req.pipe(out);
  return out;
}
