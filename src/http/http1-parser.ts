/**
 * Node's own HTTP parser (llhttp, native), the one node's http client uses. It is reached
 * through the `_http_common` module, which node ships but does not document (DEP0199 deprecates
 * it). This is the only file that touches it: every access is guarded (nothing here throws at
 * import), and a self-test at start parses a known response and a known request with exactly the
 * callbacks and return values Portico's upstream client (upstream/h1/) and lean server path
 * (server/lean/) rely on. `available` is true only when the module is there and the self-test
 * passed; otherwise upstream connections go through undici (upstream/undici/) and the lean path
 * is off. PORTICO_UPSTREAM_CLIENT=undici forces that fallback (the tests' second run).
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

export interface ParserConstructor {
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

export interface ParserCallbacks {
  onMessageBegin?: () => void;
  /** Header fields flushed before the head completes (more than node's 32 per batch). */
  onHeaders?: (headers: string[], url: string) => void;
  onHeadersComplete: (...args: never[]) => number | void;
  onBody?: (chunk: Buffer) => void;
  onMessageComplete: () => void;
}

/**
 * node's kLenientChunkedLength (src/node_http_parser.cc; llhttp_set_lenient_chunked_length):
 * a message with both Transfer-Encoding and Content-Length is read by its Transfer-Encoding
 * instead of refused; that check is all it relaxes (duplicate or invalid lengths, bad chunk
 * sizes and the rest still fail alike, as tried on node 20). The self-test checks both.
 */
export const LENIENT_CHUNKED_LENGTH = 1 << 1;

/** The environment variable that forces the undici fallback (and the lean path off). */
export const UPSTREAM_CLIENT_ENV = 'PORTICO_UPSTREAM_CLIENT';

interface Loaded {
  P: ParserConstructor | undefined;
  methods: readonly string[];
  /** Why the parser cannot be used ('' when it can). */
  problem: string;
}

function load(): Loaded {
  let common: { HTTPParser?: unknown; methods?: unknown };
  try {
    common = createRequire(import.meta.url)('_http_common') as typeof common;
  } catch (err) {
    return { P: undefined, methods: [], problem: `_http_common cannot be loaded (${(err as Error).message})` };
  }
  const methods = Array.isArray(common?.methods) && common.methods.every((m) => typeof m === 'string') ? (common.methods as string[]) : [];
  const P = common?.HTTPParser as ParserConstructor | undefined;
  if (typeof P !== 'function') return { P: undefined, methods, problem: '_http_common has no HTTPParser' };
  for (const k of ['REQUEST', 'RESPONSE', 'kOnMessageBegin', 'kOnHeaders', 'kOnHeadersComplete', 'kOnBody', 'kOnMessageComplete', 'kOnExecute'] as const) {
    if (typeof P[k] !== 'number') return { P: undefined, methods, problem: `HTTPParser.${k} is missing` };
  }
  if (methods.length === 0) return { P: undefined, methods, problem: '_http_common has no methods table' };
  return { P, methods, problem: '' };
}

const loaded = load();

/** node's parser constructor; undefined when `_http_common` does not offer one. */
export const HTTPParser = loaded.P;

/** node's method table: onHeadersComplete reports a request's method as an index into it ([] without it). */
export const methods: readonly string[] = loaded.methods;

const PARSER_RESOURCE = {};

function noop(): void {}

/**
 * A parser for requests or responses, with the callbacks given and no-ops for the rest; strict
 * (as node's own server and client run it) unless `lenientFlags` say otherwise. Only for callers
 * that checked `available` (or `parserCheck.ok`).
 */
export function createParser(kind: 'request' | 'response', maxHeaderSize: number, on: ParserCallbacks, lenientFlags = 0): NodeHttpParser {
  if (HTTPParser === undefined) throw new Error(`node's HTTP parser is not usable (${loaded.problem})`);
  return newParser(HTTPParser, kind, maxHeaderSize, on, lenientFlags);
}

function newParser(P: ParserConstructor, kind: 'request' | 'response', maxHeaderSize: number, on: ParserCallbacks, lenientFlags: number): NodeHttpParser {
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

// --- the self-test -------------------------------------------------------------------------

/** What one message looked like to the callbacks. */
interface Seen {
  begins: number;
  completes: number;
  /** Header fields, from onHeaders batches and the onHeadersComplete list, in order. */
  fields: string[];
  batches: number;
  heads: { major: number; minor: number; method: unknown; url: unknown; status: number; statusText: string; upgrade: boolean; keepAlive: boolean }[];
  body: string;
}

/**
 * Runs `data` through a fresh parser whose onHeadersComplete returns what `answer` says for the
 * n-th head, and records what the callbacks saw.
 */
function run(P: ParserConstructor, kind: 'request' | 'response', chunks: string[], answer: (n: number) => number, lenient = 0): { seen: Seen; results: ReturnType<NodeHttpParser['execute']>[]; parser: NodeHttpParser } {
  const seen: Seen = { begins: 0, completes: 0, fields: [], batches: 0, heads: [], body: '' };
  const parser = newParser(
    P,
    kind,
    64 * 1024,
    {
      onMessageBegin: () => void seen.begins++,
      onHeaders: (headers) => {
        seen.batches++;
        seen.fields.push(...headers);
      },
      onHeadersComplete: ((major: number, minor: number, headers: string[] | undefined, method: unknown, url: unknown, status: number, statusText: string, upgrade: boolean, keepAlive: boolean) => {
        if (headers) seen.fields.push(...headers);
        seen.heads.push({ major, minor, method, url, status, statusText, upgrade, keepAlive });
        return answer(seen.heads.length - 1);
      }) as ParserCallbacks['onHeadersComplete'],
      onBody: (chunk) => void (seen.body += Buffer.isBuffer(chunk) ? chunk.toString('latin1') : '<not a Buffer>'),
      onMessageComplete: () => void seen.completes++,
    },
    lenient,
  );
  const results = chunks.map((c) => parser.execute(Buffer.from(c, 'latin1')));
  return { seen, results, parser };
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** Parses known messages the way Portico does; throws naming the first behaviour that differs. */
function selfTest(P: ParserConstructor, methods: readonly string[]): void {
  const extra = Array.from({ length: 40 }, (_, i) => `X-Field-${i}: v${i}\r\n`).join('');
  const fieldCount = 2 * 41;

  // 1. A head with more than 32 fields: node hands them over in batches (onHeaders) before the
  //    head completes; 2 from onHeadersComplete stops the parser right after the head, and
  //    execute() returns that byte offset (the h1 client reads the Content-Length body itself).
  const head1 = `HTTP/1.1 200 OK\r\n${extra}Content-Length: 5\r\n\r\n`;
  const a = run(P, 'response', [`${head1}hello`, 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n'], () => 2);
  expect(a.seen.begins === 2 && a.seen.completes === 2, `onMessageBegin/onMessageComplete: ${a.seen.begins}/${a.seen.completes} for 2 responses`);
  expect(a.seen.batches > 0, 'onHeaders is not called for a head of more than 32 fields');
  expect(a.seen.fields.length === fieldCount + 2 && a.seen.fields[0] === 'X-Field-0' && a.seen.fields[fieldCount - 2] === 'Content-Length', `header fields reassembled: ${a.seen.fields.length}, expected ${fieldCount + 2}`);
  expect(a.results[0] === head1.length, `execute() after onHeadersComplete returned 2: ${String(a.results[0])}, expected the head's length ${head1.length}`);
  expect(a.seen.body === '', 'a body was parsed after onHeadersComplete returned 2');
  const h = a.seen.heads;
  expect(h.length === 2 && h[0]!.status === 200 && h[0]!.statusText === 'OK' && h[0]!.major === 1 && h[0]!.minor === 1 && h[0]!.keepAlive && !h[0]!.upgrade, 'onHeadersComplete arguments (status, reason, version, keep-alive, upgrade)');
  expect(a.results[1] === 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n'.length && h[1]!.status === 204, 'the parser does not go on to the next response after a stop at 2');
  a.parser.close();

  // 2. 1 skips an interim response's body; a chunked body is read by the parser; finish() ends a
  //    body delimited by the connection closing.
  const b = run(P, 'response', ['HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'], (n) => (n === 0 ? 1 : 0));
  expect(b.seen.heads.map((x) => x.status).join() === '103,200' && b.seen.body === 'ok' && b.seen.completes === 2, `an interim response then a chunked one: ${b.seen.heads.map((x) => x.status).join()} body '${b.seen.body}'`);
  expect(typeof b.results[0] === 'number', 'execute() failed on an interim response followed by a chunked one');
  b.parser.close();
  const c = run(P, 'response', ['HTTP/1.1 200 OK\r\n\r\nuntil close'], () => 0);
  const fin = c.parser.finish();
  expect(fin === undefined && c.seen.body === 'until close' && c.seen.completes === 1, 'finish() does not end a close-delimited body');
  c.parser.close();

  // 3. Errors come back as an Error with the llhttp code and the bytes parsed.
  const d = run(P, 'response', ['HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok'], () => 0);
  const err = d.results[0];
  expect(typeof err === 'object' && err !== null && typeof err.code === 'string' && err.code.startsWith('HPE_') && typeof err.bytesParsed === 'number', 'a malformed response does not return an Error with code and bytesParsed');
  d.parser.close();

  // 4. Transfer-Encoding with Content-Length: read as chunked with the lenient flag, refused without.
  const both = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n2\r\nok\r\n0\r\n\r\n';
  const e = run(P, 'response', [both], () => 0, LENIENT_CHUNKED_LENGTH);
  expect(e.results[0] === both.length && e.seen.body === 'ok' && e.seen.completes === 1, 'the lenient flag does not read Transfer-Encoding + Content-Length as chunked');
  e.parser.close();
  const f = run(P, 'response', [both], () => 0);
  expect(typeof f.results[0] === 'object', 'the strict parser accepts Transfer-Encoding + Content-Length');
  f.parser.close();

  // 5. A request as the lean path reads it: the method as an index into `methods`, the URL.
  const req = 'GET /path?q=1 HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\n\r\n';
  const g = run(P, 'request', [req], () => 0);
  const r = g.seen.heads[0];
  expect(g.results[0] === req.length && g.seen.begins === 1 && g.seen.completes === 1, 'a simple request is not parsed whole');
  expect(r !== undefined && typeof r.method === 'number' && methods[r.method] === 'GET' && r.url === '/path?q=1' && r.keepAlive && !r.upgrade, 'onHeadersComplete arguments of a request (method index, url, keep-alive)');
  expect(g.seen.fields.join('|') === 'Host|a.test|Accept|*/*', 'request header fields');
  expect(methods.includes('HEAD'), 'the methods table has no HEAD');
  g.parser.close();
}

/**
 * The self-test, run once at start on node's parser (tests run it on a parser made to misbehave).
 * @returns ok, or the reason the parser cannot be used.
 */
export function checkParser(P: ParserConstructor | undefined, methodTable: readonly string[]): { ok: boolean; reason: string } {
  if (P === undefined) return { ok: false, reason: loaded.problem || 'no HTTPParser' };
  try {
    selfTest(P, methodTable);
    return { ok: true, reason: '' };
  } catch (err) {
    return { ok: false, reason: `self-test failed: ${(err as Error).message}` };
  }
}

/** Whether node's parser is there and behaves as Portico needs (whatever the environment asks). */
export const parserCheck: { readonly ok: boolean; readonly reason: string } = checkParser(loaded.P, loaded.methods);

const forced = process.env[UPSTREAM_CLIENT_ENV] === 'undici';

/**
 * Portico uses node's parser: it passed the self-test and the fallback is not forced. When false,
 * `unavailableReason` says why.
 */
export const available = parserCheck.ok && !forced;

export const unavailableReason = !parserCheck.ok ? parserCheck.reason : forced ? `${UPSTREAM_CLIENT_ENV}=undici` : '';
