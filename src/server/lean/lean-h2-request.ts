/**
 * The request side of the lean HTTP/2 path (lean-h2.ts): a request head (src/http/request.ts)
 * read straight off node's 'stream' event, for a stream that ended with its headers (no body).
 * The same values node's compatibility request (Http2ServerRequest) gives: method and url from
 * the pseudo-header fields, node's joined header object, the raw list with the pseudo-header
 * fields in it, HTTP version 2.0.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerHttp2Stream } from 'node:http2';
import type { RequestHead } from '../../http/request.js';

export class LeanH2Request implements RequestHead {
  readonly httpVersion = '2.0';
  readonly httpVersionMajor = 2;
  readonly httpVersionMinor = 0;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    readonly rawHeaders: string[],
    readonly method: string,
  ) {}

  get url(): string | undefined {
    return this.headers[':path'] as string | undefined;
  }

  /** The session's socket (node's compatibility request gives a proxy of the same socket). */
  get socket(): Socket {
    return this.stream.session!.socket as Socket;
  }
}
