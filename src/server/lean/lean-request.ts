/**
 * The request side of the lean HTTP/1.1 path (lean-connection.ts): a request head
 * (src/http/request.ts) for a request that has no body. Everything here is set from one
 * parse; `headers` is built only if someone asks (files, guards).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestHead } from '../../http/request.js';

/** node's IncomingMessage keeps the first of these when a request repeats them. */
const FIRST_WINS: ReadonlySet<string> = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
]);

export class LeanRequest implements RequestHead {
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  #headers: IncomingHttpHeaders | undefined = undefined;

  constructor(
    readonly socket: Socket,
    readonly method: string,
    readonly url: string,
    readonly rawHeaders: string[],
  ) {}

  /** node's joining rules (IncomingMessage._addHeaderLine), for the few readers of `headers`. */
  get headers(): IncomingHttpHeaders {
    if (this.#headers !== undefined) return this.#headers;
    const out: IncomingHttpHeaders = Object.create(null);
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      const seen = out[name];
      if (seen === undefined) out[name] = name === 'set-cookie' ? [value] : value;
      else if (name === 'set-cookie') (seen as string[]).push(value);
      else if (FIRST_WINS.has(name)) continue;
      else out[name] = `${seen as string}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
    return (this.#headers = out);
  }
}
