/**
 * A lean path for HTTP/2 streams, as lean-connection.ts is for HTTP/1.1. node's compatibility
 * API builds, for every stream, an Http2ServerRequest (a Readable) and an Http2ServerResponse,
 * with their listeners, and copies the response's fields once more before node's stream gets
 * them: on 1 KiB GETs through an HTTP/2 session that was a large share of the CPU (docs/
 * benchmarks.md). A stream that ended with its headers (END_STREAM on HEADERS: no body, no
 * trailers), a GET or HEAD without Expect, is served from node's 'stream' event directly: a
 * request head read off the event (lean-h2-request.ts) and a writer on the stream itself
 * (lean-h2-response.ts). Every other stream gets node's compatibility objects exactly as
 * node's own 'request' wiring makes them (lib/internal/http2/compat.js onServerStream: CONNECT
 * without a 'connect' listener is a 405, an Expect other than 100-continue a 417), so bodies,
 * 100-continue and every limit on them stay on the path they were tested on.
 * PORTICO_LEAN_H2=0 turns it off: every stream takes the compatibility path.
 */
import { Http2ServerRequest, Http2ServerResponse, constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { LeanH2Request } from './lean-h2-request.js';
import { LeanH2Response } from './lean-h2-response.js';

const { HTTP_STATUS_METHOD_NOT_ALLOWED, HTTP_STATUS_EXPECTATION_FAILED } = constants;

export interface H2Handlers {
  lean(req: LeanH2Request, res: LeanH2Response): void;
  compat(req: Http2ServerRequest, res: Http2ServerResponse): void;
}

/** Streams answered on the lean path, process-wide (tests and diagnostics read it). */
export const leanH2Stats = { streams: 0 };

/** The HTTP/2 server's 'stream' listener. */
export function h2StreamListener(handlers: H2Handlers): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void {
  const lean = process.env.PORTICO_LEAN_H2 !== '0';
  return (stream, headers, _flags, rawHeaders) => {
    const method = headers[':method'];
    if (lean && stream.endAfterHeaders && (method === 'GET' || method === 'HEAD') && headers.expect === undefined) {
      leanH2Stats.streams++;
      handlers.lean(new LeanH2Request(stream, headers, rawHeaders, method), new LeanH2Response(stream, method === 'HEAD'));
      return;
    }
    const req = new Http2ServerRequest(stream, headers, undefined as never, rawHeaders);
    const res = new Http2ServerResponse(stream);
    if (method === 'CONNECT') {
      res.statusCode = HTTP_STATUS_METHOD_NOT_ALLOWED;
      res.end();
      return;
    }
    if (headers.expect !== undefined) {
      if (headers.expect !== '100-continue') {
        res.statusCode = HTTP_STATUS_EXPECTATION_FAILED;
        res.end();
        return;
      }
      res.writeContinue();
    }
    handlers.compat(req, res);
  };
}
