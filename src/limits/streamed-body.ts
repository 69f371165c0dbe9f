/**
 * Limits for a request body passed to the upstream as it arrives (buffering.request: false):
 * body_timeout between reads, and max_body_size for a chunked body, counted as it streams
 * (a Content-Length body was checked before anything was read). Either failure stops the
 * upstream request.
 */
import type { Exchange } from '../http/exchange.js';
import type { RequestBody } from '../http/request.js';
import { armBodyTimeout } from './body-timeout.js';
import { rejectRequest } from './discard.js';
import { sendError } from '../http/send.js';

export function watchStreamedBody(ex: Exchange, req: RequestBody, maxBodySize: number, bodyTimeout: number): void {
  let seen = 0;
  const stop = () => {
    disarm();
    req.off('end', stop);
    req.off('data', count);
  };
  const count = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen <= maxBodySize) return;
    stop();
    ex.abortUpstream?.();
    if (ex.writer.headersSent) ex.writer.destroy();
    else rejectRequest(ex, 413);
  };
  const disarm = armBodyTimeout(ex, bodyTimeout, () => {
    stop();
    ex.abortUpstream?.();
    ex.writer.closeConnection();
    if (ex.writer.headersSent) ex.writer.destroy();
    else sendError(ex, 408);
  });
  req.once('end', stop);
  if (ex.contentLength < 0 && maxBodySize !== Infinity) {
    // A 'data' listener would start the flow before the upstream client takes the body (it
    // waits until the upstream is reachable, so a failed connect can go elsewhere with the body
    // intact): keep it paused; the upstream client resumes it.
    if (req.readableFlowing !== true) req.pause();
    req.on('data', count);
  }
}
