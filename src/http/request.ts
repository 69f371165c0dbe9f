/**
 * What Portico reads of a request, as two small interfaces instead of node's IncomingMessage:
 * the head (every request has one: node's HTTP/1.1 and HTTP/2 requests, and the lean path's
 * request, src/server/lean/lean-request.ts) and the body stream (only node's requests carry
 * one; the lean path takes bodiless requests only). Each is the subset of node's types that
 * Portico uses, so node's objects are one without a cast and the lean request need not
 * pretend to be a stream.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

export interface RequestHead {
  readonly method?: string | undefined;
  /** The request target as received (origin-form, or absolute-form on HTTP/1.1). */
  readonly url?: string | undefined;
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** Flat [name, value, ...] as received (latin1); dispatch may drop fields from it in place. */
  readonly rawHeaders: string[];
  /** node's joined view of the fields (IncomingMessage.headers' rules). */
  readonly headers: IncomingHttpHeaders;
  /** The client connection (HTTP/2: node's proxy of the session's socket). */
  readonly socket: Socket;
}

/** A request body as it arrives: node's IncomingMessage and Http2ServerRequest are one. */
export interface RequestBody extends Readable {
  /** The whole message was received. */
  readonly complete: boolean;
  /** HTTP/2: the stream was reset (node still ends the request afterwards). */
  readonly aborted: boolean;
  /** HTTP/2: the stream's idle timeout (HTTP/1 arms the socket's: limits/body-timeout.ts). */
  setTimeout(ms: number, callback?: () => void): unknown;
}
