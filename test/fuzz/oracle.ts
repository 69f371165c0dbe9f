/**
 * The oracle of the differential fuzzer: what a client's bytes mean, and whether what reached
 * the origin and what came back is that meaning.
 *
 * The meaning comes from a strict reference reading of the client's byte stream (RFC 9112:
 * request-line, field lines, Content-Length or chunked framing, one request after another):
 * a list of requests, each well-formed or with a "soft" fault that leaves its framing intact
 * (a bad target or Host, another HTTP version), then the end of the stream, an incomplete
 * request (the client has not sent everything), or a "hard" fault after which nothing can be
 * delimited (framing, bare CR/LF, obs-fold). A proxy may always refuse more than the reference
 * (stricter is safe); the oracle flags a proxy that:
 *  - forwards a request the client did not send (a "/smuggled/" target lives only in bodies),
 *    or one with another method, target or de-framed body;
 *  - forwards a request whose framing the reference refuses while nginx refuses it too, or acts
 *    on bytes after such a request, or on requests behind one it refused itself;
 *  - forwards a target the app reads as a route the proxy denies (/denied/);
 *  - forwards what it must drop: hop-by-hop and Connection-nominated fields, names with '_',
 *    a client's X-Forwarded-* / Forwarded / X-Real-IP, a second Host;
 *  - answers a client with another request's response (or bytes the origin sent after one);
 *  - leaves a complete request unanswered without closing (a stall).
 * Forwarding a request with a soft fault is a finding only where nginx answered it 400
 * ("differs from nginx", low); where both refuse with different statuses it is only counted.
 */
import type { OriginRequest } from '../helpers/recording-origin.js';
import type { Case, H1Case, H2Case } from './generate.js';
import { HOST } from './generate.js';

// ---------------------------------------------------------------------------------------
// The strict reference reading of a client's HTTP/1.1 byte stream.

export interface RefRequest {
  /** A fault that does not change where the request ends (target, Host, a field value): a server must refuse it, yet what follows is still read. */
  invalid?: string;
  /** Sent after a request that ends the connection (Connection: close, HTTP/1.0): a server must not act on it. */
  afterClose?: boolean;
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  body: Buffer;
}

/** The request-line of an invalid request, read leniently, so a proxy that took it can be matched. */
export interface LenientHead {
  method: string;
  target: string;
}

export type RefTail =
  | { kind: 'end' }
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string; framing: boolean; head?: LenientHead };

export interface RefReading {
  requests: RefRequest[];
  tail: RefTail;
  /** How many requests a server answers before it must close (undefined: all of them). */
  closeAfter?: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** field-value: VCHAR, obs-text, SP and HTAB inside (RFC 9110 §5.5); no CTLs. */
const FIELD_VALUE = /^[\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]*[\x21-\x7e\x80-\xff])?$|^$/;
/**
 * origin-form (RFC 9112 §3.2.1): absolute-path [ "?" query ] of pchars and pct-encoded. Also
 * taken: the characters RFC 3986 leaves out but every server passes through unchanged
 * (backslash, quotes, braces, obs-text), since proxy and app read them alike. Never: '#',
 * whitespace, controls, a '%' without two hex digits.
 */
const ORIGIN_FORM = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?\\"<>^`{|}\x80-\xff]|%[0-9A-Fa-f]{2})*$/;
const ABSOLUTE_FORM = /^https?:\/\/([A-Za-z0-9\-._~!$&'()*+,;=%]+(?::[0-9]*)?)(\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?\\"<>^`{|}\x80-\xff]|%[0-9A-Fa-f]{2})*)?$/i;
const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*(?::[0-9]*)?$/;
const MAX_LENGTH = 1 << 30;

class Invalid extends Error {
  constructor(
    readonly reason: string,
    readonly framing = false,
  ) {
    super(reason);
  }
}

function lenientHead(buf: Buffer, at: number): LenientHead | undefined {
  while (buf[at] === 0x0d || buf[at] === 0x0a) at += 1;
  let end = buf.indexOf('\n', at);
  if (end < 0) end = buf.length;
  const line = buf.subarray(at, end).toString('latin1').replace(/\r$/, '').replace(/^[\r\n]+/, '');
  const parts = line.split(/[ \t]+/);
  if (parts.length < 2) return undefined;
  return { method: parts[0]!, target: parts[1]! };
}

/** Reads `buf` strictly; see RefReading. */
export function readRequests(buf: Buffer): RefReading {
  const requests: RefRequest[] = [];
  let at = 0;
  let closed = false;
  let closeAfter: number | undefined;
  while (at < buf.length) {
    let step: { req: RefRequest; used: number; last: boolean } | 'incomplete';
    try {
      step = readOne(buf, at);
    } catch (err) {
      const e = err as Invalid;
      return { requests, tail: { kind: 'invalid', reason: e.reason, framing: e.framing, head: lenientHead(buf, at) }, closeAfter };
    }
    if (step === 'incomplete') {
      const rest = buf.subarray(at).toString('latin1');
      return { requests, tail: /^(\r?\n)*$/.test(rest) ? { kind: 'end' } : { kind: 'incomplete' }, closeAfter };
    }
    if (closed) step.req.afterClose = true;
    requests.push(step.req);
    at = step.used;
    if (step.last && !closed) closeAfter = requests.length;
    if (step.last) closed = true;
  }
  return { requests, tail: { kind: 'end' }, closeAfter };
}

function readOne(buf: Buffer, start: number): { req: RefRequest; used: number; last: boolean } | 'incomplete' {
  // RFC 9112 §2.2: empty lines before a request-line are ignored (a bare LF one too: it
  // cannot start a request, so ignoring it changes no framing).
  for (;;) {
    if (buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
    else if (buf[start] === 0x0a) start += 1;
    else break;
  }
  if (start >= buf.length) return 'incomplete';
  // RFC 9112 §2.2: a line of the head ends in LF, a CR before it ignored (a recipient MAY
  // read a bare LF as a line end; nginx and Portico do); the head ends at its first empty line.
  const head = headLines(buf, start);
  if (head === undefined) {
    // A bare CR (or NUL) anywhere in what we have is already fatal; otherwise wait for more.
    checkHeadBytes(buf.subarray(start));
    return 'incomplete';
  }
  checkHeadBytes(buf.subarray(start, head.bodyStart));
  const lines = head.lines;
  // RFC 9112 §3: a recipient MAY parse an invalid request-line on whitespace boundaries (node
  // and nginx do): a soft fault, the request is still delimited as usual.
  const m = /^[ \t]*([^ \t]+)[ \t]+([^ \t]+)[ \t]+(HTTP\/[0-9]\.[0-9])[ \t]*$/.exec(lines[0]!);
  if (!m) throw new Invalid('request-line');
  const [, method, target, version] = m as unknown as [string, string, string, string];
  // Soft faults: the request is still delimited as usual, so what follows it can be read.
  const soft: string[] = [];
  if (lines[0] !== `${method} ${target} ${version}`) soft.push('request-line-whitespace');
  // Another version (HTTP/2.0, 1.2) is refused (505/400), yet its head is delimited alike.
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') soft.push('version');
  if (!TOKEN.test(method)) soft.push('method');
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) throw new Invalid('obs-fold');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Invalid('field-line');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new Invalid('field-name');
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) {
      if (/^(content-length|transfer-encoding)$/i.test(name)) throw new Invalid('field-value', true);
      soft.push('field-value');
    }
    headers.push([name, value]);
  }
  const get = (n: string) => headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
  // Target (RFC 9112 §3.2); '#' never belongs to one.
  const hosts = get('host');
  if (method === 'CONNECT' || target === '*') soft.push('target-form');
  let authority: string | undefined;
  if (target.startsWith('/')) {
    if (!ORIGIN_FORM.test(target)) soft.push('target');
  } else {
    const abs = ABSOLUTE_FORM.exec(target);
    if (!abs) soft.push('target');
    else {
      authority = abs[1]!;
      if (authority.includes('@')) soft.push('target-userinfo');
    }
  }
  if ((version === 'HTTP/1.1' && hosts.length !== 1) || hosts.length > 1) soft.push('host-count');
  // An http(s) target always has an authority, so Host must name it (RFC 9110 §7.2); with an
  // absolute-form target the authority wins and Host is ignored (RFC 9112 §3.2.2).
  else if (hosts.length === 1 && authority === undefined && (hosts[0] === '' || !HOST_VALUE.test(hosts[0]!))) soft.push('host-value');
  // Only the one server block: the fuzz config has one catch-all server, but a proxy may
  // refuse a Host it does not serve, so other hosts are read as valid.
  // Framing (RFC 9112 §6).
  const te = get('transfer-encoding');
  const cl = get('content-length');
  let at = head.bodyStart;
  let body: Buffer = Buffer.alloc(0);
  if (te.length > 0) {
    if (cl.length > 0) throw new Invalid('te-and-cl', true);
    if (version === 'HTTP/1.0') throw new Invalid('te-in-http/1.0', true);
    if (te.length > 1 || te[0]!.toLowerCase() !== 'chunked') throw new Invalid('te-value', true);
    const chunked = readChunked(buf, at);
    if (chunked === 'incomplete') return 'incomplete';
    body = chunked.body;
    at = chunked.used;
  } else if (cl.length > 0) {
    if (cl.length > 1 || !/^[0-9]+$/.test(cl[0]!)) throw new Invalid('content-length', true);
    const n = Number(cl[0]);
    if (n > MAX_LENGTH) throw new Invalid('content-length-huge', true);
    if (buf.length < at + n) return 'incomplete';
    body = Buffer.from(buf.subarray(at, at + n));
    at += n;
  }
  // An Upgrade request does not end the HTTP exchange unless the origin answers 101, which
  // the fuzz origin never does; a proxy that tunnels what follows anyway is caught by the
  // route-bypass check (the tunnelled request skipped routing).
  const connection = get('connection').join(',').toLowerCase().split(',').map((t) => t.trim());
  const last = connection.includes('close') || (version === 'HTTP/1.0' && !connection.includes('keep-alive'));
  const req: RefRequest = { method, target, version, headers, body };
  if (soft.length > 0) req.invalid = soft.join(',');
  return { req, used: at, last };
}

/**
 * The lines of a head from `start` (without their LF or CRLF) up to its first empty line, and
 * where what follows it begins; undefined while there is no empty line yet.
 */
function headLines(buf: Buffer, start: number): { lines: string[]; bodyStart: number } | undefined {
  const lines: string[] = [];
  let lineStart = start;
  for (let lf = buf.indexOf(0x0a, start); lf !== -1; lf = buf.indexOf(0x0a, lf + 1)) {
    const end = lf > lineStart && buf[lf - 1] === 0x0d ? lf - 1 : lf;
    if (end === lineStart) return { lines, bodyStart: lf + 1 };
    lines.push(buf.subarray(lineStart, end).toString('latin1'));
    lineStart = lf + 1;
  }
  return undefined;
}

/** In a head (RFC 9112 §2.2): a bare CR is an error, a bare LF a line end (as nginx reads it). */
function checkHeadBytes(b: Buffer): void {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0x0d && i + 1 < b.length && b[i + 1] !== 0x0a) throw new Invalid('bare-cr');
    if (c === 0) throw new Invalid('nul');
  }
}

/**
 * In chunked framing: a bare CR is an error; we read a bare LF as one too (stricter than MAY:
 * nginx reads it as a line end there, Portico refuses it, which is the safe side).
 */
function checkLineEnds(b: Buffer): void {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0x0d && i + 1 < b.length && b[i + 1] !== 0x0a) throw new Invalid('bare-cr');
    if (c === 0x0a && (i === 0 || b[i - 1] !== 0x0d)) throw new Invalid('bare-lf');
    if (c === 0) throw new Invalid('nul');
  }
}

/** RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF data CRLF ..., last-chunk, trailers, CRLF. */
function readChunked(buf: Buffer, start: number): { body: Buffer; used: number } | 'incomplete' {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd < 0) {
      checkLineEnds(buf.subarray(at));
      return 'incomplete';
    }
    const line = buf.subarray(at, lineEnd).toString('latin1');
    if (/[\r\n\0]/.test(line)) throw new Invalid('chunk-line', true);
    const m = /^([0-9A-Fa-f]+)((?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]*|"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"))?)*)$/.exec(line);
    if (!m) throw new Invalid('chunk-size', true);
    if (m[1]!.length > 12) throw new Invalid('chunk-size-overflow', true);
    const n = parseInt(m[1]!, 16);
    at = lineEnd + 2;
    if (n === 0) {
      // Trailer section: field lines until an empty line.
      for (;;) {
        const end = buf.indexOf('\r\n', at);
        if (end < 0) {
          checkLineEnds(buf.subarray(at));
          return 'incomplete';
        }
        const field = buf.subarray(at, end).toString('latin1');
        at = end + 2;
        if (field === '') return { body: Buffer.concat(parts), used: at };
        checkLineEnds(Buffer.from(field, 'latin1'));
        const colon = field.indexOf(':');
        if (colon <= 0 || !TOKEN.test(field.slice(0, colon))) throw new Invalid('trailer', true);
      }
    }
    if (buf.length < at + n + 2) return 'incomplete';
    parts.push(buf.subarray(at, at + n));
    if (buf[at + n] !== 0x0d || buf[at + n + 1] !== 0x0a) throw new Invalid('chunk-data-end', true);
    at += n + 2;
  }
}

// ---------------------------------------------------------------------------------------
// Responses as the client received them.

export interface ClientResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
  /** The origin's JSON answer, when the body is one. */
  origin?: { seq: number; method: string; target: string };
}

export interface ResponseReading {
  responses: ClientResponse[];
  /** Interim (1xx) responses skipped. */
  interim: number;
  /** 'garbage': bytes that are not a response where one should start. */
  rest: 'none' | 'partial' | 'garbage';
  garbage?: string;
  /** Bytes the complete responses (interim ones included) took. */
  used: number;
}

/**
 * Reads the responses in `buf`; `methods[i]` is the method of the request the i-th final
 * response answers (a HEAD response has no body however it is framed). `ended`: the peer
 * closed, which completes a close-delimited body.
 */
export function readResponses(buf: Buffer, methods: readonly string[], ended: boolean): ResponseReading {
  const responses: ClientResponse[] = [];
  let interim = 0;
  let at = 0;
  while (at < buf.length) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) return { responses, interim, used: at, rest: /^HTTP\/1\.[01] /.test(buf.subarray(at, at + 9).toString('latin1')) || buf.length - at < 9 ? 'partial' : 'garbage', garbage: escape(buf.subarray(at, at + 200)) };
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!);
    if (!m) return { responses, interim, used: at, rest: 'garbage', garbage: escape(buf.subarray(at, at + 200)) };
    const status = Number(m[1]);
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
    }
    let bodyAt = end + 4;
    if (status >= 100 && status < 200) {
      interim++;
      at = bodyAt;
      continue;
    }
    const method = methods[responses.length] ?? 'GET';
    const h = (n: string) => headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
    let body: Buffer = Buffer.alloc(0);
    if (method === 'HEAD' || status === 204 || status === 304) {
      // no body
    } else if (h('transfer-encoding').length > 0) {
      const chunked = readChunkedLoose(buf, bodyAt);
      if (chunked === undefined) return { responses, interim, used: at, rest: 'partial' };
      body = chunked.body;
      bodyAt = chunked.used;
    } else if (h('content-length').length > 0) {
      const n = Number(h('content-length')[0]);
      if (buf.length < bodyAt + n) return { responses, interim, used: at, rest: 'partial' };
      body = buf.subarray(bodyAt, bodyAt + n);
      bodyAt += n;
    } else {
      if (!ended) return { responses, interim, used: at, rest: 'partial' };
      body = buf.subarray(bodyAt);
      bodyAt = buf.length;
    }
    const res: ClientResponse = { status, headers, body };
    if (h('content-type')[0] === 'application/json') {
      try {
        const j = JSON.parse(body.toString('utf8')) as { seq: number; method: string; target: string };
        if (typeof j.seq === 'number') res.origin = j;
      } catch {
        // not the origin's answer
      }
    }
    responses.push(res);
    at = bodyAt;
  }
  return { responses, interim, used: at, rest: 'none' };
}

function readChunkedLoose(buf: Buffer, start: number): { body: Buffer; used: number } | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const n = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
    at = lineEnd + 2;
    if (!(n > 0)) {
      const end = buf.indexOf('\r\n\r\n', at - 2);
      if (end < 0) return undefined;
      return { body: Buffer.concat(parts), used: end + 4 };
    }
    if (buf.length < at + n + 2) return undefined;
    parts.push(buf.subarray(at, at + n));
    at += n + 2;
  }
}

// ---------------------------------------------------------------------------------------
// Judging one case on one proxy.

export type Severity = 'critical' | 'high' | 'medium' | 'low';

export interface Problem {
  class: string;
  severity: Severity;
  detail: string;
}

/** What one proxy did with one case. */
export interface Observation {
  proxy: 'portico' | 'nginx';
  /** Bytes the client received, and whether the proxy closed the connection. */
  received: Buffer;
  closed: boolean;
  /** The client gave up waiting (bounded) with requests unanswered and the connection open. */
  timedOut: boolean;
  /** Requests the origin framed during the case (victims and health checks left out). */
  origin: OriginRequest[];
  /** Origin connections on which bytes arrived that could not be framed. */
  unframed: number;
  /** HTTP/2: the stream's outcome (status, or the error/RST that ended it). */
  h2?: { status?: number; error?: string; body?: Buffer };
}

/** Per case and proxy, what happened to each request: 'F' (reached the origin) or a status. */
export interface Verdict {
  problems: Problem[];
  outcome: string;
  /** Origin requests that the reference refuses (matched to the invalid tail). */
  acceptedInvalid: number;
  /** Requests forwarded although the reference refuses their framing (see runner: judged against nginx). */
  framingAccepted: { index: number; reason: string }[];
  statuses: number[];
}

/** What the origin should see as the target: absolute-form loses its scheme and authority. */
export function forwardedTarget(target: string): string {
  const m = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
  if (!m) return target;
  return m[1] === '' ? '/' : m[1]!;
}

/**
 * How an app server reads a target's path (gunicorn + Django, PHP, static servers): the
 * fragment cut, the query cut, percent-escapes decoded, "//" merged and dot segments resolved.
 */
export function appPath(target: string): string {
  let t = forwardedTarget(target);
  t = t.split('#')[0]!.split('?')[0]!;
  let decoded = t;
  try {
    decoded = decodeURIComponent(t);
  } catch {
    decoded = unescape(t);
  }
  const out: string[] = [];
  for (const seg of decoded.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

/**
 * Whether `got` is `sent` with its dot segments resolved: Portico forwards the path it routed
 * when routing resolved "." or ".." segments (src/http/normalize-path.ts forwardedPath), so the
 * app cannot read another path than the one checked. Same meaning: `got` has no dot segment
 * left, reads as the same app path and carries the same query.
 */
export function sameOnceResolved(sent: string, got: string): boolean {
  const t = forwardedTarget(sent).split('#')[0]!;
  const q = (x: string) => (x.indexOf('?') < 0 ? '' : x.slice(x.indexOf('?')));
  const path = (x: string) => x.split('?')[0]!;
  let decoded = path(got);
  try {
    decoded = decodeURIComponent(decoded);
  } catch {
    return false;
  }
  if (/\/\.\.?(?:\/|$)/.test(decoded)) return false;
  return q(t) === q(got) && appPath(t) === appPath(got);
}

const denied = (target: string) => /^\/denied(\/|$)/.test(appPath(target));

/** Headers Portico writes itself; a client's copy must never reach the origin. */
const PORTICO_OWN = new Set(['x-forwarded-for', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-host']);
const HOP_BY_HOP = new Set(['keep-alive', 'proxy-connection', 'te', 'trailer', 'http2-settings', 'proxy-authorization', 'expect']);

function values(headers: readonly [string, string][], name: string): string[] {
  return headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

/** The header contract of Portico's forwarded request (src/proxy/request-headers.ts). */
function checkHeaders(o: OriginRequest, clientHeaders: readonly [string, string][], clientTarget: string, scheme: string, problems: Problem[]): void {
  const nominated = new Set<string>();
  for (const v of values(clientHeaders, 'connection'))
    for (const t of v.split(',')) {
      const n = t.trim().toLowerCase();
      if (n !== '' && n !== 'close' && n !== 'keep-alive' && n !== 'upgrade') nominated.add(n);
    }
  const upgrade = values(o.headers, 'upgrade');
  const add = (cls: string, severity: Severity, detail: string) => problems.push({ class: cls, severity, detail: `${detail} (origin request ${o.method} ${o.target})` });
  for (const [name, value] of o.headers) {
    const lower = name.toLowerCase();
    // The generator hides "X-Injected: 1" after a CR/LF inside another field's value.
    if (lower === 'x-injected') add('header-injection', 'critical', `a field line the client hid in another field's value reached the origin: ${name}: ${value}`);
    else if (lower.includes('_')) add('underscore-header', 'high', `forwarded ${name}: ${value}`);
    else if (HOP_BY_HOP.has(lower)) add('hop-by-hop-forwarded', 'medium', `forwarded ${name}: ${value}`);
    else if (lower === 'forwarded' || (lower.startsWith('x-forwarded-') && !PORTICO_OWN.has(lower))) add('spoofed-forwarding', 'high', `forwarded the client's ${name}: ${value}`);
    else if (nominated.has(lower) && !PORTICO_OWN.has(lower) && lower !== 'host' && lower !== 'content-length' && lower !== 'transfer-encoding')
      add('nominated-forwarded', 'medium', `forwarded ${name}, which the client's Connection nominated`);
    else if (lower === 'connection' && !/^(keep-alive|close|upgrade)$/i.test(value.trim())) add('nominated-forwarded', 'medium', `forwarded Connection: ${value}`);
  }
  for (const v of upgrade)
    if (v.toLowerCase() !== 'websocket') add('upgrade-forwarded', 'medium', `forwarded Upgrade: ${v} (only websocket is tunnelled)`);
  const expect: Record<string, string> = { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1', 'x-forwarded-proto': scheme };
  for (const [name, want] of Object.entries(expect)) {
    const got = values(o.headers, name);
    if (got.length !== 1 || got[0] !== want) add('spoofed-forwarding', 'high', `${name} is ${JSON.stringify(got)}, expected ["${want}"]`);
  }
  const hosts = values(o.headers, 'host');
  const clientHost = /^https?:\/\/([^/?#]*)/i.exec(clientTarget)?.[1] ?? values(clientHeaders, 'host')[0];
  if (hosts.length !== 1) add('host-forwarded', 'high', `Host sent ${hosts.length} times`);
  else if (clientHost !== undefined && clientHost !== '' && hosts[0] !== clientHost) add('host-forwarded', 'high', `Host ${hosts[0]} but the client's is ${clientHost}`);
  const xfh = values(o.headers, 'x-forwarded-host');
  if (xfh.length > 1 || (xfh.length === 1 && xfh[0] !== hosts[0])) add('spoofed-forwarding', 'high', `X-Forwarded-Host ${JSON.stringify(xfh)} vs Host ${hosts[0]}`);
}

interface Expected {
  method: string;
  target: string;
  body: Buffer | undefined;
  headers: [string, string][];
  /** Refused by the reference: a proxy that forwards it accepts an invalid request. */
  invalid?: { reason: string; framing: boolean };
  afterClose?: boolean;
}

/** The requests of an HTTP/1.1 case as the reference reads them, and the invalid tail's head. */
export function expectedH1(c: H1Case): { reading: RefReading; expected: Expected[] } {
  const reading = readRequests(Buffer.concat(c.writes));
  const expected: Expected[] = reading.requests.map((r) => {
    const e: Expected = { method: r.method, target: r.target, body: r.body, headers: r.headers, afterClose: r.afterClose };
    if (r.invalid) e.invalid = { reason: r.invalid, framing: false };
    return e;
  });
  const tail = reading.tail;
  if (tail.kind === 'invalid' && tail.head)
    expected.push({
      method: tail.head.method,
      target: tail.head.target,
      body: undefined,
      headers: [],
      invalid: { reason: tail.reason, framing: tail.framing },
      afterClose: reading.closeAfter !== undefined,
    });
  return { reading, expected };
}

/** An HTTP/2 request's meaning: node's client sends what the case says, framed by DATA. */
export function expectedH2(c: H2Case): Expected[] {
  const h = (n: string) => c.headers.find(([k]) => k === n)?.[1];
  const path = h(':path') ?? '';
  const body = Buffer.concat(c.data);
  const cl = h('content-length');
  // :authority wins over Host (RFC 9113 §8.3.1): routing and forwarding both use it.
  const authority = h(':authority');
  const headers: [string, string][] = c.headers.filter(([k]) => !k.startsWith(':') && !(authority !== undefined && k === 'host'));
  if (authority !== undefined) headers.unshift(['host', authority]);
  let invalid: Expected['invalid'];
  // RFC 9113 §8.1.1: content-length that disagrees with the DATA is malformed; §8.3.1: :path
  // is origin-form or '*' (OPTIONS), with no fragment; :scheme is http or https.
  if (cl !== undefined && Number(cl) !== body.length) invalid = { reason: 'h2-content-length', framing: true };
  else if (!path.startsWith('/') || !ORIGIN_FORM.test(path)) invalid = { reason: 'h2-path', framing: false };
  else if (!/^https?$/.test(h(':scheme') ?? '')) invalid = { reason: 'h2-scheme', framing: false };
  else if (h(':authority') === undefined && h('host') === undefined) invalid = { reason: 'h2-no-authority', framing: false };
  const e: Expected = { method: h(':method') ?? 'GET', target: path, body, headers };
  if (invalid) e.invalid = invalid;
  return [e];
}

/**
 * Judges one proxy's handling of a case. `checkContract`: also apply Portico's forwarding
 * contract (headers); nginx forwards nominated and X-Forwarded-Port headers by design.
 */
export function judge(c: Case, expected: Expected[], obs: Observation, tail: RefTail | undefined, checkContract: boolean): Verdict {
  const problems: Problem[] = [];
  const add = (cls: string, severity: Severity, detail: string) => problems.push({ class: cls, severity, detail });
  let acceptedInvalid = 0;
  // 1. Every origin request is one the client sent, with its body and headers. Pipelined
  // requests may reach the origin in any order (over several upstream connections); a proxy
  // may cut a fragment off (nginx does).
  const outcome: string[] = expected.map(() => '-');
  const framingAccepted: number[] = [];
  const afterClose: number[] = [];
  for (const o of obs.origin) {
    const same = (e: Expected) => {
      const t = forwardedTarget(e.target);
      return e.method === o.method && (t === o.target || t.split('#')[0] === o.target || sameOnceResolved(t, o.target));
    };
    // Among requests with the same method and target, the one with the same body and Host.
    let i = expected.length;
    let best = -1;
    for (let k = 0; k < expected.length; k++) {
      if (outcome[k] !== '-' || !same(expected[k]!)) continue;
      const e = expected[k]!;
      const score = (e.body !== undefined && e.body.equals(o.body) ? 2 : 0) + (values(e.headers, 'host')[0] === values(o.headers, 'host')[0] ? 1 : 0);
      if (score > best) {
        best = score;
        i = k;
      }
    }
    if (denied(o.target)) add('route-bypass', 'critical', `the origin received ${o.target}, which an app reads as ${appPath(o.target)}: a denied route`);
    if (i >= expected.length && o.target.includes('/smuggled/')) {
      add('smuggled-request', 'critical', `the origin received ${o.method} ${o.target}, which the client only sent inside a body`);
      continue;
    }
    const last = expected.at(-1);
    if (i >= expected.length && tail?.kind === 'invalid' && tail.framing && last?.invalid?.framing && outcome[expected.length - 1] !== 'F') {
      add('after-framing-refusal', 'high', `the origin received ${o.method} ${o.target}: bytes after a request refused for its framing (${last.invalid.reason}), read as a request anyway`);
      continue;
    }
    if (i >= expected.length) {
      add('unexpected-request', 'critical', `the origin received ${o.method} ${o.target}, which matches no request of the client's (expected ${expected.map((e) => `${e.method} ${forwardedTarget(e.target)}`).join(', ') || 'none'})`);
      continue;
    }
    const e = expected[i]!;
    outcome[i] = 'F';
    if (e.afterClose) afterClose.push(i);
    if (e.invalid) {
      acceptedInvalid++;
      if (e.invalid.framing) framingAccepted.push(i);
    }
    if (e.body !== undefined && !e.body.equals(o.body)) {
      add('body-differs', 'critical', `the origin received a body of ${o.body.length} bytes ${escape(o.body.subarray(0, 80))}, the client sent ${e.body.length} bytes ${escape(e.body.subarray(0, 80))}`);
    }
    if (checkContract) checkHeaders(o, e.headers, e.target, c.kind === 'h2' ? 'https' : 'http', problems);
  }
  if (obs.unframed > 0) add('unframed-upstream', 'critical', 'the origin received bytes it cannot frame as a request');
  // 2. Every response the client got is its own, in order.
  const methods = expected.map((e) => e.method);
  const reading = readResponses(obs.received, methods, obs.closed);
  const ownSeqs = new Set(obs.origin.map((o) => o.seq));
  // RFC 9112 §9.6: after a response with "Connection: close" a server acts on no further
  // request. A refusal the proxy wrote itself (not the origin's answer) is decided before the
  // requests behind it, so none of them may reach the origin.
  const refusedAt = reading.responses.findIndex(
    (r) => r.origin === undefined && r.status >= 400 && /close/i.test(values(r.headers, 'connection').join(',')),
  );
  if (refusedAt >= 0)
    for (let k = refusedAt + 1; k < outcome.length; k++)
      if (outcome[k] === 'F')
        add('after-refusal', 'medium', `request ${k} (${expected[k]!.method} ${expected[k]!.target}) reached the origin although request ${refusedAt} was refused with ${reading.responses[refusedAt]!.status} and Connection: close`);
  // Requests sent after one that ends the connection: acting on them is a fault unless the
  // proxy's answer to that one announced keep-alive (llhttp, so node, keeps an HTTP/1.0
  // connection open on the legacy "Proxy-Connection: keep-alive"; the client is told so).
  if (afterClose.length > 0) {
    const closing = expected.findIndex((e) => e.afterClose) - 1;
    const told = reading.responses[closing];
    if (!(told && /keep-alive/i.test(values(told.headers, 'connection').join(','))))
      for (const k of afterClose) add('after-close-processed', 'low', `acted on ${expected[k]!.method} ${expected[k]!.target}, sent after a request that ends the connection`);
  }
  reading.responses.forEach((r, k) => {
    if (r.origin === undefined) {
      if (k < outcome.length && outcome[k] === '-') outcome[k] = String(r.status);
      return;
    }
    if (r.origin.target === '/__injected') add('cross-talk', 'critical', `response ${k} is bytes the origin sent after another response (an upstream connection read past a complete response)`);
    else if (!ownSeqs.has(r.origin.seq)) add('cross-talk', 'critical', `response ${k} answers origin request #${r.origin.seq} ${r.origin.method} ${r.origin.target}, not one of this client's`);
    else if (k >= expected.length || (forwardedTarget(expected[k]!.target) !== r.origin.target && !sameOnceResolved(expected[k]!.target, r.origin.target)))
      add('response-order', 'high', `response ${k} answers ${r.origin.target}, but request ${k} was ${expected[k] ? forwardedTarget(expected[k]!.target) : 'never sent'}`);
  });
  // Bytes after a last "Connection: close" response are never read as a response.
  const lastClose = reading.responses.length > 0 && /close/i.test(values(reading.responses.at(-1)!.headers, 'connection').join(','));
  if (reading.rest === 'garbage' && !(obs.closed && lastClose) && (tail === undefined || tail.kind !== 'invalid'))
    add('response-garbage', 'medium', `the client received bytes that are not a response: ${reading.garbage}`);
  // 3. No stall: a proxy answers every complete request or closes.
  if (obs.timedOut && (tail === undefined || tail.kind !== 'incomplete')) {
    add('stall', 'high', `no answer and no close within the bound: ${reading.responses.length} of ${expected.length} answered`);
  }
  if (obs.h2) {
    outcome[0] = obs.origin.length > 0 ? 'F' : obs.h2.status !== undefined ? String(obs.h2.status) : (obs.h2.error ?? 'error');
  }
  return {
    problems,
    outcome: outcome.join(' '),
    acceptedInvalid,
    framingAccepted: framingAccepted.map((index) => ({ index, reason: expected[index]!.invalid!.reason })),
    statuses: reading.responses.map((r) => r.status),
  };
}

/** Bytes as a JS string literal body: printable ASCII kept, the rest \xNN / \r / \n. */
export function escape(b: Buffer): string {
  let s = '';
  for (const c of b) {
    if (c === 0x0d) s += '\\r';
    else if (c === 0x0a) s += '\\n';
    else if (c === 0x5c) s += '\\\\';
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

export { HOST };
