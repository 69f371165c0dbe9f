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
