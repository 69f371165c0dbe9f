/**
 * Node's own HTTP parser (llhttp, native), the one node's http client uses. It is reached
 * through the `_http_common` module, which node ships but does not document; `available`
 * is false on a node that no longer offers it, and Portico then proxies through undici.
 */
import { createRequire } from 'node:module';

export interface NodeHttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenientFlags: number): void;
  execute(data: Buffer): number | (Error & { code?: string; bytesParsed?: number });
  finish(): void | Error;
  close(): void;
  free(): void;
  remove(): void;
  [key: number]: unknown;
}

interface ParserConstructor {
  new (): NodeHttpParser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
}

function load(): ParserConstructor | undefined {
  try {
    const common = createRequire(import.meta.url)('_http_common') as { HTTPParser?: ParserConstructor };
    const P = common.HTTPParser;
    if (typeof P !== 'function' || typeof P.kOnHeadersComplete !== 'number') return undefined;
    return P;
  } catch {
    return undefined;
  }
}

export const HTTPParser = load();
export const available = HTTPParser !== undefined;

/** node's method table: onHeadersComplete reports a request's method as an index into it. */
export const methods: readonly string[] =
  (createRequire(import.meta.url)('_http_common') as { methods?: string[] }).methods ?? [];

export interface ParserCallbacks {
  onMessageBegin?: () => void;
  /** Header fields flushed before the head completes (more than node's 32 per batch). */
  onHeaders?: (headers: string[], url: string) => void;
  onHeadersComplete: (...args: never[]) => number | void;
  onBody?: (chunk: Buffer) => void;
  onMessageComplete: () => void;
}

const PARSER_RESOURCE = {};

function noop(): void {}

/**
 * node's kLenientChunkedLength (src/node_http_parser.cc; llhttp_set_lenient_chunked_length):
 * a message with both Transfer-Encoding and Content-Length is read by its Transfer-Encoding
 * instead of refused; that check is all it relaxes (duplicate or invalid lengths, bad chunk
 * sizes and the rest still fail alike, as tried on node 20).
 */
export const LENIENT_CHUNKED_LENGTH = 1 << 1;

/**
 * A parser for requests or responses, with the callbacks given and no-ops for the rest; strict
 * (as node's own server and client run it) unless `lenientFlags` say otherwise.
 */
export function createParser(kind: 'request' | 'response', maxHeaderSize: number, on: ParserCallbacks, lenientFlags = 0): NodeHttpParser {
  const P = HTTPParser!;
  const parser = new P();
  parser.initialize(kind === 'request' ? P.REQUEST : P.RESPONSE, PARSER_RESOURCE, maxHeaderSize, lenientFlags);
  parser[P.kOnMessageBegin] = on.onMessageBegin ?? noop;
  parser[P.kOnHeaders] = on.onHeaders ?? noop;
  parser[P.kOnHeadersComplete] = on.onHeadersComplete;
  parser[P.kOnBody] = on.onBody ?? noop;
  parser[P.kOnMessageComplete] = on.onMessageComplete;
  parser[P.kOnExecute] = noop;
  return parser;
}

/** Frees a parser; call it outside the parser's own callbacks (node defers it the same way). */
export function closeParserLater(parser: NodeHttpParser): void {
  setImmediate(closeNow, parser);
}

function closeNow(parser: NodeHttpParser): void {
  parser.close();
}
