/**
 * The request generator of the differential fuzzer: a small grammar of HTTP/1.1 requests
 * (method, target, version, header fields, body and its framing) and the mutations HTTP
 * Garden and the smuggling literature found parsers disagree on (duplicate and odd framing
 * headers, casing, whitespace, obs-fold, bare CR/LF, NUL, chunk sizes and extensions, odd
 * targets, Connection nominations, Upgrade, Expect, pipelining split across writes), plus
 * HTTP/2 requests made of odd pseudo-headers and DATA that disagrees with content-length.
 *
 * Deterministic: case N of seed S comes from its own PRNG seeded with (S, N), so one case
 * can be replayed alone (`--seed S --case N`). Every case carries a tag "k<N>k" in its
 * targets (where the target's shape allows) so the oracle can tell whose request reached the
 * origin. Targets containing "/smuggled/" only ever appear inside request bodies: the origin
 * must never see one. "__204" / "__extra" in a target, and HEAD, ask the fuzz origin to
 * misbehave after its answer (see run.ts) the way real app servers do.
 */

/** mulberry32: small, fast, and good enough to pick grammar branches. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of items) total += w;
    let r = this.next() * total;
    for (const [w, v] of items) if ((r -= w) < 0) return v;
    return items[items.length - 1]![1];
  }
}

/** The PRNG of case `index` under `seed`: independent of every other case. */
export function caseRng(seed: number, index: number): Rng {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return new Rng(h ^ (h >>> 15));
}

export const HOST = 'fuzz.test';
export const tagOf = (index: number) => `k${index}k`;

export interface H1Case {
  kind: 'h1';
  index: number;
  tag: string;
  /** The client's bytes, one Buffer per socket write. */
  writes: Buffer[];
  /** Which mutations made it, for the summary table and for reading a finding. */
  labels: string[];
}

export interface H2Case {
  kind: 'h2';
  index: number;
  tag: string;
  /** Header list as sent by node's http2 client (pseudo-headers included). */
  headers: [string, string][];
  /** DATA frames; none means END_STREAM on HEADERS. */
  data: Buffer[];
  labels: string[];
}

export type Case = H1Case | H2Case;

/**
 * Labels of the cases that trigger the bugs issue 12 lists and other packages fix (items 1,
 * 2, 3, 4, 5, 14) and the one this fuzzer found in dispatch.ts (an Upgrade pipelined behind
 * another request): `--skip-known` leaves them out, to see what else the oracle reports while
 * those fixes are not merged. A label matches by prefix.
 */
export const KNOWN_BUG_LABELS: readonly string[] = [
  'header:nominate-framing', // item 1
  'target:fragment', // item 2 (also target:fragment-bypass)
  'h2-path:fragment', // item 2 over HTTP/2
  'method:"HEAD"', // item 3: the origin answers HEAD with a body
  'origin:', // item 3: 204 with a body, bytes after a response
  'header:upgrade', // item 4, and the pipelined Upgrade crash (test/security/fuzz-findings.test.ts)
  'method:"CONNECT"', // the same crash through a pipelined CONNECT
  'host:empty', // found here: an empty Host is taken (nginx: 400)
  'target:empty-authority', // found here: so is "http:///path" (nginx: 400)
  'framing:te-list', // found here: requests pipelined after a 501 for the coding still go upstream
  'framing:te-odd', // (the same)
  'header:underscore', // item 5
  'h2-header:x_', // item 5 over HTTP/2
  'framing:te-twice', // item 14
  'h2-content-length:', // item 14 over HTTP/2
];

export function hasLabel(c: Case, prefixes: readonly string[]): boolean {
  return c.labels.some((l) => prefixes.some((p) => l.startsWith(p)));
}

export function generateCase(seed: number, index: number, h2Share = 0.15): Case {
  const rng = caseRng(seed, index);
  return rng.chance(h2Share) ? generateH2(rng, index) : generateH1(rng, index);
}

// ---------------------------------------------------------------------------------------
// HTTP/1.1

interface Field {
  name: string;
  value: string;
}

interface Message {
  method: string;
  target: string;
  version: string;
  fields: Field[];
  body: Buffer;
  /** How the body is framed on the wire. */
  framing: 'none' | 'length' | 'chunked';
}

const CRLF = '\r\n';

function smugglePayload(tag: string, rng: Rng): string {
  const method = rng.pick(['GET', 'POST', 'DELETE']);
  const extra = method === 'POST' ? 'Content-Length: 3\r\n\r\nabc' : '\r\n';
  return `${method} /smuggled/${tag} HTTP/1.1\r\nHost: ${HOST}\r\n${extra}`;
}

function makeBody(rng: Rng, tag: string, labels: string[]): Buffer {
  const r = rng.int(10);
  if (r < 4) {
    labels.push('body:smuggle');
    return Buffer.from(smugglePayload(tag, rng), 'latin1');
  }
  if (r < 5) return Buffer.alloc(0);
  if (r < 6) {
    // Large enough to cross node's and the proxies' read sizes.
    const n = 1000 + rng.int(70_000);
    labels.push('body:large');
    return Buffer.alloc(n, 'x');
  }
  const len = 1 + rng.int(40);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(rng.chance(0.1) ? rng.pick([0, 10, 13, 0x30, 0xff]) : 97 + rng.int(26));
  return Buffer.from(s, 'latin1');
}

const METHODS: readonly (readonly [number, string])[] = [
  [30, 'GET'],
  [30, 'POST'],
  [8, 'HEAD'],
  [5, 'PUT'],
  [3, 'DELETE'],
  [3, 'OPTIONS'],
  [3, 'PATCH'],
  [1, 'TRACE'],
  [1, 'CONNECT'],
  [1, 'get'],
  [1, 'FOO'],
  [1, 'GET\x00'],
  [1, 'G<T'],
];

/** A request-target; `labels` says what is odd about it. */
function makeTarget(rng: Rng, tag: string, labels: string[]): string {
  const base = rng.weighted<string>([
    [6, `/a/${tag}`],
    [3, `/denied/${tag}`],
    [3, `/stream/${tag}`],
    [1, `/a/${tag}/__204`],
    [1, `/a/${tag}/__extra`],
  ]);
  const odd = rng.weighted<string>([
    [20, 'plain'],
    [3, 'query'],
    [3, 'fragment-bypass'],
    [1, 'fragment'],
    [2, 'dot-segments'],
    [2, 'encoded-dots'],
    [1, 'double-slash'],
    [1, 'backslash'],
    [2, 'percent'],
    [1, 'bad-percent'],
    [1, 'nul'],
    [2, 'absolute-form'],
    [1, 'absolute-other-host'],
    [1, 'asterisk'],
    [1, 'authority-form'],
    [1, 'overlong'],
    [1, 'non-ascii'],
    [1, 'space'],
    [1, 'empty'],
  ]);
  if (odd !== 'plain') labels.push(`target:${odd}`);
  if (base.endsWith('__204')) labels.push('origin:204');
  if (base.endsWith('__extra')) labels.push('origin:extra');
  switch (odd) {
    case 'plain':
      return base;
    case 'query': {
      const q = rng.pick(['1', '%2e%2e', '/../denied/', 'a#b', 'x?y']);
      if (q.includes('#')) labels.push('target:fragment');
      return `${base}?q=${q}`;
    }
    case 'fragment-bypass':
      // Routed as what follows the '#', served by the app as what precedes it (issue item 2).
      return `/denied/${tag}/#/../../../a/${tag}`;
    case 'fragment':
      return `${base}#${rng.pick(['frag', '/../denied/', '?x'])}`;
    case 'dot-segments':
      return `/a/${tag}/${rng.pick(['..', '../..', '.', '../../..'])}/${rng.pick(['denied', 'a', 'stream'])}/${tag}`;
    case 'encoded-dots':
      return `/a/${tag}/${rng.pick(['%2e%2e', '%2E%2E', '.%2e', '%2e.', '..%2f..', '%2e%2e%2fdenied'])}/${rng.pick(['denied', 'a'])}/${tag}`;
    case 'double-slash':
      return `/${base}`;
    case 'backslash':
      return `/a/${tag}\\..\\..\\denied\\${tag}`;
    case 'percent':
      return `${base}/${rng.pick(['%2F', '%2f..%2f', '%41', '%25', '%3F', '%23', '%20', '%C3%A9'])}x`;
    case 'bad-percent':
      return `${base}/${rng.pick(['%', '%zz', '%4', '%C3', '%FF', '%c0%af'])}`;
    case 'nul':
      return `${base}/${rng.pick(['%00', '\x00'])}x`;
    case 'absolute-form':
      return `http://${HOST}${base}`;
    case 'absolute-other-host': {
      const authority = rng.pick(['other.test', 'user@fuzz.test', 'fuzz.test:80', '127.0.0.1', '']);
      if (authority === '') labels.push('target:empty-authority');
      return `${rng.pick(['http', 'https', 'HTTP'])}://${authority}${base}`;
    }
    case 'asterisk':
      return '*';
    case 'authority-form':
      return rng.pick([`${HOST}:80`, '127.0.0.1:22']);
    case 'overlong':
      return `${base}/${'a'.repeat(rng.pick([4000, 9000, 20000]))}`;
    case 'non-ascii':
      return `${base}/${rng.pick(['\xe9', '\x7f', '\x80\x81', '\t'])}`;
    case 'space':
      return `${base}/a b`;
    case 'empty':
      return '';
  }
  return base;
}

function makeVersion(rng: Rng, labels: string[]): string {
  const v = rng.weighted<string>([
    [85, 'HTTP/1.1'],
    [10, 'HTTP/1.0'],
    [1, 'HTTP/1.2'],
    [1, 'HTTP/2.0'],
    [1, 'HTTP/0.9'],
    [1, 'http/1.1'],
    [1, 'HTTP/1.1 '],
    [1, 'HTTP/11'],
  ]);
  if (v !== 'HTTP/1.1') labels.push(`version:${v.trim() === v ? v : 'trailing-space'}`);
  return v;
}

/** Headers that test what the proxy must drop or rewrite (RFC 9110 §7.6.1, spoofing). */
function extraFields(rng: Rng, labels: string[]): Field[] {
  const out: Field[] = [];
  const n = rng.weighted<number>([
    [4, 0],
    [4, 1],
    [2, 2],
    [1, 3],
  ]);
  for (let i = 0; i < n; i++) {
    const kind = rng.weighted<string>([
      [3, 'nominate'],
      [2, 'nominate-framing'],
      [1, 'nominate-own'],
      [3, 'underscore'],
      [3, 'spoof'],
      [3, 'hop-by-hop'],
      [2, 'upgrade'],
      [2, 'expect'],
      [2, 'plain'],
      [1, 'close'],
      [1, 'keep-alive'],
    ]);
    labels.push(`header:${kind}`);
    switch (kind) {
      case 'nominate':
        out.push({ name: 'Connection', value: rng.pick(['keep-alive, X-Secret', 'X-Secret', 'close, X-Secret', 'x-secret ,  keep-alive']) });
        out.push({ name: 'X-Secret', value: 'nominated' });
        break;
      case 'nominate-framing':
        // Issue item 1: a client nominating away the framing of its own body.
        out.push({ name: 'Connection', value: rng.pick(['keep-alive, Content-Length', 'Content-Length', 'Transfer-Encoding', 'content-length, transfer-encoding']) });
        break;
      case 'nominate-own':
        out.push({ name: 'Connection', value: rng.pick(['Host', 'X-Forwarded-For', 'X-Real-IP', 'X-Forwarded-Host', 'X-Forwarded-Proto']) });
        break;
      case 'underscore':
        // Issue item 5: WSGI maps '-' and '_' to the same CGI name.
        out.push(rng.pick([
          { name: 'X_Forwarded_For', value: '6.6.6.6' },
          { name: 'X_Real_IP', value: '6.6.6.6' },
          { name: 'X_Forwarded_Proto', value: 'https' },
          { name: 'Transfer_Encoding', value: 'chunked' },
          { name: 'Content_Length', value: '0' },
          { name: 'X_Custom', value: 'u' },
        ]));
        break;
      case 'spoof':
        out.push(rng.pick([
          { name: 'X-Forwarded-For', value: '6.6.6.6' },
          { name: 'X-Real-IP', value: '6.6.6.6' },
          { name: 'X-Forwarded-Proto', value: 'https' },
          { name: 'X-Forwarded-Host', value: 'evil.test' },
          { name: 'X-Forwarded-Port', value: '443' },
          { name: 'X-Forwarded-Prefix', value: '/admin' },
          { name: 'Forwarded', value: 'for=6.6.6.6;proto=https' },
          { name: 'x-forwarded-for', value: '6.6.6.6, 7.7.7.7' },
        ]));
        break;
      case 'hop-by-hop':
        out.push(rng.pick([
          { name: 'Keep-Alive', value: 'timeout=5' },
          { name: 'TE', value: 'trailers' },
          { name: 'Trailer', value: 'X-T' },
          { name: 'Proxy-Connection', value: 'keep-alive' },
          { name: 'Proxy-Authorization', value: 'Basic Zm9vOmJhcg==' },
          { name: 'HTTP2-Settings', value: 'AAMAAABkAARAAAAAAAIAAAAA' },
        ]));
        break;
      case 'upgrade': {
        const proto = rng.pick(['websocket', 'h2c', 'foo', 'WebSocket']);
        out.push({ name: 'Upgrade', value: proto });
        out.push({ name: 'Connection', value: rng.pick(['Upgrade', 'keep-alive, Upgrade', 'Upgrade, HTTP2-Settings']) });
        if (proto === 'h2c') out.push({ name: 'HTTP2-Settings', value: 'AAMAAABkAARAAAAAAAIAAAAA' });
        if (/websocket/i.test(proto)) {
          out.push({ name: 'Sec-WebSocket-Key', value: 'dGhlIHNhbXBsZSBub25jZQ==' });
          out.push({ name: 'Sec-WebSocket-Version', value: '13' });
        }
        break;
      }
      case 'expect':
        out.push({ name: 'Expect', value: rng.pick(['100-continue', '100-Continue', 'foo']) });
        break;
      case 'plain':
        out.push({ name: rng.pick(['X-Plain', 'Accept', 'User-Agent', 'Cookie']), value: rng.pick(['1', 'a=b', '*/*']) });
        break;
      case 'close':
        out.push({ name: 'Connection', value: 'close' });
        break;
      case 'keep-alive':
        out.push({ name: 'Connection', value: 'keep-alive' });
        break;
    }
  }
  return out;
}

/** The framing header(s) for a body, with the odd values parsers disagree on. */
function framingFields(rng: Rng, body: Buffer, labels: string[]): { fields: Field[]; framing: Message['framing'] } {
  const len = String(body.length);
  const mode = rng.weighted<string>([
    [12, 'length'],
    [8, 'chunked'],
    [1, 'length-leading-zeros'],
    [1, 'length-plus'],
    [1, 'length-list-same'],
    [1, 'length-list-differ'],
    [1, 'length-twice-same'],
    [1, 'length-twice-differ'],
    [1, 'length-hex'],
    [1, 'length-negative'],
    [1, 'length-short'],
    [1, 'length-spaces'],
    [1, 'length-huge'],
    [2, 'te-case'],
    [2, 'te-list'],
    [2, 'te-twice'],
    [1, 'te-odd'],
    [2, 'te-and-length'],
    [1, 'none-with-body'],
  ]);
  if (mode !== 'length' && mode !== 'chunked') labels.push(`framing:${mode}`);
  const cl = (value: string): Field => ({ name: 'Content-Length', value });
  const te = (value: string): Field => ({ name: 'Transfer-Encoding', value });
  switch (mode) {
    case 'length':
      return { fields: [cl(len)], framing: 'length' };
    case 'chunked':
      return { fields: [te('chunked')], framing: 'chunked' };
    case 'length-leading-zeros':
      return { fields: [cl(`00${len}`)], framing: 'length' };
    case 'length-plus':
      return { fields: [cl(`+${len}`)], framing: 'length' };
    case 'length-list-same':
      return { fields: [cl(`${len}, ${len}`)], framing: 'length' };
    case 'length-list-differ':
      return { fields: [cl(`${len}, ${body.length + 5}`)], framing: 'length' };
    case 'length-twice-same':
      return { fields: [cl(len), cl(len)], framing: 'length' };
    case 'length-twice-differ':
      return { fields: [cl(len), cl('0')], framing: 'length' };
    case 'length-hex':
      return { fields: [cl(`0x${body.length.toString(16)}`)], framing: 'length' };
    case 'length-negative':
      return { fields: [cl('-1')], framing: 'length' };
    case 'length-short':
      // Fewer than the bytes sent: the rest is read as the next request (valid pipelining).
      return { fields: [cl(String(Math.max(0, body.length - 1 - rng.int(5))))], framing: 'length' };
    case 'length-spaces':
      return { fields: [cl(rng.pick([` ${len}`, `${len} `, `${len}\t`, `\t${len}`, `${len[0]} ${len.slice(1)}`]))], framing: 'length' };
    case 'length-huge':
      return { fields: [cl(rng.pick(['99999999999999999999', '18446744073709551617', '4294967296', '9007199254740993']))], framing: 'length' };
    case 'te-case':
      return { fields: [te(rng.pick(['Chunked', 'CHUNKED', ' chunked', 'chunked ', '\tchunked']))], framing: 'chunked' };
    case 'te-list':
      return { fields: [te(rng.pick(['gzip, chunked', 'chunked, chunked', 'identity, chunked', 'chunked, gzip', 'chunked,', ',chunked']))], framing: 'chunked' };
    case 'te-twice':
      // Issue item 14: two fields, only the last looked at.
      return { fields: [te(rng.pick(['gzip', 'chunked', 'identity'])), te('chunked')], framing: 'chunked' };
    case 'te-odd':
      return { fields: [te(rng.pick(['xchunked', 'chunked;q=1', '"chunked"', 'chunk', 'identity']))], framing: 'chunked' };
    case 'te-and-length':
      return rng.chance(0.5)
        ? { fields: [cl(len), te('chunked')], framing: 'chunked' }
        : { fields: [te('chunked'), cl(String(rng.int(body.length + 1)))], framing: 'length' };
    case 'none-with-body':
      return { fields: [], framing: 'none' };
  }
  return { fields: [cl(len)], framing: 'length' };
}

/** chunked coding with odd sizes, extensions and terminators. */
function chunk(rng: Rng, body: Buffer, labels: string[]): Buffer {
  const parts: Buffer[] = [];
  const odd = rng.weighted<string>([
    [10, 'plain'],
    [2, 'extensions'],
    [1, 'bad-extension'],
    [1, 'leading-zeros'],
    [1, 'uppercase'],
    [1, 'overflow'],
    [1, 'size-space'],
    [1, 'size-lf'],
    [1, 'data-lf'],
    [1, 'wrong-size'],
    [1, 'trailers'],
    [1, 'last-lf'],
    [1, 'no-last'],
    [1, 'size-0x'],
  ]);
  if (odd !== 'plain') labels.push(`chunk:${odd}`);
  let at = 0;
  const sizes: number[] = [];
  while (at < body.length) {
    const n = Math.min(body.length - at, 1 + rng.int(Math.max(1, Math.min(body.length, 20_000))));
    sizes.push(n);
    at += n;
  }
  at = 0;
  let first = true;
  for (const n of sizes) {
    let size = n.toString(16);
    let ext = '';
    let eol = CRLF;
    let dataEnd = CRLF;
    let data = body.subarray(at, at + n);
    if (first) {
      if (odd === 'extensions') ext = rng.pick([';a=b', ';a="b c"', ' ;a', ';a=b;c', '; a = b', ';a="\\"x"']);
      if (odd === 'bad-extension') ext = rng.pick([';a=b c', ';', ';a=', ';a="b', ';\x00', ';a\rb']);
      if (odd === 'leading-zeros') size = `000${size}`;
      if (odd === 'uppercase') size = size.toUpperCase();
      if (odd === 'overflow') size = `1000000000000000${size.padStart(1, '0')}`;
      if (odd === 'size-space') size = rng.pick([`${size} `, ` ${size}`, `${size}\t`]);
      if (odd === 'size-lf') eol = '\n';
      if (odd === 'size-0x') size = `0x${size}`;
      if (odd === 'data-lf') dataEnd = '\n';
      if (odd === 'wrong-size') data = body.subarray(at, at + Math.max(0, n - 1));
      first = false;
    }
    parts.push(Buffer.from(size + ext + eol, 'latin1'), data, Buffer.from(dataEnd, 'latin1'));
    at += n;
  }
  if (odd === 'no-last') return Buffer.concat(parts);
  if (odd === 'trailers') parts.push(Buffer.from(`0${CRLF}X-Trailer: t${CRLF}${CRLF}`, 'latin1'));
  else if (odd === 'last-lf') parts.push(Buffer.from('0\n\n', 'latin1'));
  else parts.push(Buffer.from(`0${CRLF}${CRLF}`, 'latin1'));
  return Buffer.concat(parts);
}

function makeMessage(rng: Rng, tag: string, labels: string[]): Message {
  const method = rng.weighted(METHODS);
  if (!['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'].includes(method)) labels.push(`method:${JSON.stringify(method)}`);
  const target = makeTarget(rng, tag, labels);
  const version = makeVersion(rng, labels);
  const fields: Field[] = [];
  const hostMode = rng.weighted<string>([
    [40, 'normal'],
    [1, 'missing'],
    [1, 'twice'],
    [1, 'twice-same'],
    [1, 'bad'],
    [1, 'empty'],
    [1, 'port'],
    [1, 'other'],
  ]);
  if (hostMode !== 'normal') labels.push(`host:${hostMode}`);
  if (hostMode === 'normal' || hostMode === 'port' || hostMode === 'twice' || hostMode === 'twice-same' || hostMode === 'other')
    fields.push({ name: 'Host', value: hostMode === 'port' ? `${HOST}:80` : hostMode === 'other' ? 'other.test' : HOST });
  if (hostMode === 'twice') fields.push({ name: 'Host', value: 'other.test' });
  if (hostMode === 'twice-same') fields.push({ name: 'Host', value: HOST });
  if (hostMode === 'bad') fields.push({ name: 'Host', value: rng.pick(['a b', 'a/b', 'fuzz.test@evil', 'a\\b', '[::1']) });
  if (hostMode === 'empty') fields.push({ name: 'Host', value: '' });
  fields.push(...extraFields(rng, labels));
  const withBody = method === 'POST' || method === 'PUT' || method === 'PATCH' ? rng.chance(0.9) : rng.chance(0.15);
  let body: Buffer = Buffer.alloc(0);
  let framing: Message['framing'] = 'none';
  if (withBody) {
    if (method === 'GET' || method === 'HEAD') labels.push('body:on-' + method);
    body = makeBody(rng, tag, labels);
    const f = framingFields(rng, body, labels);
    framing = f.framing;
    // Framing fields go anywhere among the others: some parsers only look at the first/last.
    for (const field of f.fields) fields.splice(rng.int(fields.length + 1), 0, field);
  }
  return { method, target, version, fields, body, framing };
}

/** One field line, with the spelling mutations a strict parser must reject or normalize. */
function fieldLine(rng: Rng, f: Field, labels: string[]): string {
  let name = f.name;
  let value = f.value;
  let sep = ': ';
  let eol = CRLF;
  if (rng.chance(0.9)) return `${name}${sep}${value}${eol}`;
  const m = rng.weighted<string>([
    [3, 'case'],
    [1, 'space-before-colon'],
    [1, 'tab-before-colon'],
    [1, 'no-space'],
    [1, 'many-spaces'],
    [1, 'trailing-space'],
    [2, 'obs-fold'],
    [1, 'bare-lf'],
    [1, 'bare-cr'],
    [1, 'nul-value'],
    [1, 'ctl-value'],
    [1, 'high-bit-value'],
    [1, 'leading-space-name'],
    [1, 'empty-name'],
  ]);
  labels.push(`field:${m}`);
  switch (m) {
    case 'case':
      name = rng.chance(0.5) ? name.toUpperCase() : name.toLowerCase();
      break;
    case 'space-before-colon':
      sep = ' : ';
      break;
    case 'tab-before-colon':
      sep = '\t: ';
      break;
    case 'no-space':
      sep = ':';
      break;
    case 'many-spaces':
      sep = ':  \t ';
      break;
    case 'trailing-space':
      value = `${value} \t`;
      break;
    case 'obs-fold': {
      const cut = rng.int(value.length + 1);
      value = `${value.slice(0, cut)}${CRLF}${rng.pick([' ', '\t'])}${value.slice(cut)}`;
      break;
    }
    case 'bare-lf':
      eol = '\n';
      break;
    case 'bare-cr':
      eol = rng.chance(0.5) ? '\r' : `\r${CRLF}`;
      break;
    case 'nul-value':
      value = `${value}\x00x`;
      break;
    case 'ctl-value':
      value = `${value}${rng.pick(['\x0b', '\x0c', '\x7f', '\x1b'])}`;
      break;
    case 'high-bit-value':
      value = `${value}\xe9\xff`;
      break;
    case 'leading-space-name':
      name = ` ${name}`;
      break;
    case 'empty-name':
      name = '';
      break;
  }
  return `${name}${sep}${value}${eol}`;
}

function serialize(rng: Rng, m: Message, labels: string[]): Buffer {
  let requestLine = `${m.method} ${m.target} ${m.version}`;
  let lineEnd = CRLF;
  if (rng.chance(0.03)) {
    const odd = rng.pick(['double-space', 'tab', 'lf', 'leading-crlf']);
    labels.push(`request-line:${odd}`);
    if (odd === 'double-space') requestLine = `${m.method}  ${m.target} ${m.version}`;
    if (odd === 'tab') requestLine = `${m.method}\t${m.target} ${m.version}`;
    if (odd === 'lf') lineEnd = '\n';
    if (odd === 'leading-crlf') requestLine = `${CRLF}${requestLine}`;
  }
  let head = requestLine + lineEnd;
  for (const f of m.fields) head += fieldLine(rng, f, labels);
  head += rng.chance(0.02) ? (labels.push('head-end:lf'), '\n') : CRLF;
  const body = m.framing === 'chunked' ? chunk(rng, m.body, labels) : m.body;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function generateH1(rng: Rng, index: number): H1Case {
  const tag = tagOf(index);
  const labels: string[] = [];
  const count = rng.weighted<number>([
    [55, 1],
    [30, 2],
    [15, 3],
  ]);
  if (count > 1) labels.push(`pipelined:${count}`);
  const messages: Buffer[] = [];
  for (let i = 0; i < count; i++) messages.push(serialize(rng, makeMessage(rng, tag, labels), labels));
  const stream = Buffer.concat(messages);
  // One write, or the same bytes cut at random points (across heads, bodies and chunk sizes).
  const writes: Buffer[] = [];
  if (rng.chance(0.5) || stream.length < 2) writes.push(stream);
  else {
    labels.push('split-writes');
    const cuts = new Set<number>();
    const n = 1 + rng.int(3);
    for (let i = 0; i < n; i++) cuts.add(1 + rng.int(stream.length - 1));
    let at = 0;
    for (const c of [...cuts].sort((a, b) => a - b)) {
      writes.push(stream.subarray(at, c));
      at = c;
    }
    writes.push(stream.subarray(at));
  }
  return { kind: 'h1', index, tag, writes, labels: [...new Set(labels)] };
}

// ---------------------------------------------------------------------------------------
// HTTP/2 (node's client: it refuses to send connection-specific headers, invalid header
// names/values, and uppercase names; what it lets through is what these cases cover).

function generateH2(rng: Rng, index: number): H2Case {
  const tag = tagOf(index);
  const labels: string[] = ['h2'];
  const method = rng.weighted<string>([
    [4, 'GET'],
    [4, 'POST'],
    [1, 'HEAD'],
    [1, 'PUT'],
  ]);
  let path = rng.weighted<string>([
    [6, `/a/${tag}`],
    [2, `/denied/${tag}`],
    [2, `/stream/${tag}`],
    [1, `/a/${tag}/__204`],
  ]);
  if (path.endsWith('__204')) labels.push('origin:204');
  if (method === 'HEAD') labels.push('method:"HEAD"');
  const pathOdd = rng.weighted<string>([
    [10, 'plain'],
    [2, 'fragment-bypass'],
    [1, 'dot-segments'],
    [1, 'encoded-dots'],
    [1, 'absolute'],
    [1, 'asterisk'],
    [1, 'empty'],
    [1, 'no-slash'],
    [1, 'space'],
    [1, 'nul'],
  ]);
  if (pathOdd !== 'plain') labels.push(`h2-path:${pathOdd}`);
  if (pathOdd === 'fragment-bypass') path = `/denied/${tag}/#/../../../a/${tag}`;
  if (pathOdd === 'dot-segments') path = `/a/${tag}/../../denied/${tag}`;
  if (pathOdd === 'encoded-dots') path = `/a/${tag}/%2e%2e/%2e%2e/denied/${tag}`;
  if (pathOdd === 'absolute') path = `http://${HOST}${path}`;
  if (pathOdd === 'asterisk') path = '*';
  if (pathOdd === 'empty') path = '';
  if (pathOdd === 'no-slash') path = `a/${tag}`;
  if (pathOdd === 'space') path = `${path}/a b`;
  if (pathOdd === 'nul') path = `${path}/%00`;
  const headers: [string, string][] = [
    [':method', method],
    [':path', path],
    [':scheme', rng.weighted<string>([[10, 'https'], [1, 'http'], [1, 'foo']])],
  ];
  const authority = rng.weighted<string>([
    [10, 'authority'],
    [1, 'host-only'],
    [1, 'both-differ'],
    [1, 'none'],
  ]);
  if (authority !== 'authority') labels.push(`h2-authority:${authority}`);
  if (authority === 'authority' || authority === 'both-differ') headers.push([':authority', HOST]);
  if (authority === 'host-only') headers.push(['host', HOST]);
  if (authority === 'both-differ') headers.push(['host', 'other.test']);
  const extras = rng.int(3);
  for (let i = 0; i < extras; i++) {
    const h = rng.pick<[string, string]>([
      ['x_forwarded_for', '6.6.6.6'],
      ['x-forwarded-for', '6.6.6.6'],
      ['x-real-ip', '6.6.6.6'],
      ['forwarded', 'for=6.6.6.6'],
      ['x-forwarded-host', 'evil.test'],
      ['cookie', 'a=1'],
      ['cookie', 'b=2'],
      ['x-plain', 'v'],
      ['expect', '100-continue'],
      // Header injection into the HTTP/1.1 request upstream (RFC 9113 §8.2.1: malformed).
      ['x-plain', 'v\r\nX-Injected: 1'],
      ['x-plain', 'v\nX-Injected: 1'],
      ['x-plain', 'v\0'],
      ['X-Upper', 'v'],
      // Refused by node's client before sending (tallied as unsendable).
      ['connection', 'keep-alive'],
      ['transfer-encoding', 'chunked'],
      ['te', 'gzip'],
      ['te', 'trailers'],
      ['upgrade', 'h2c'],
      [':foo', 'x'],
      ['x a', 'b'],
    ]);
    labels.push(`h2-header:${h[0]}${/[\r\n\0]/.test(h[1]) ? ':ctl-value' : ''}`);
    headers.push(h);
  }
  const data: Buffer[] = [];
  const withBody = method === 'POST' || method === 'PUT' ? rng.chance(0.9) : rng.chance(0.1);
  if (withBody) {
    const body = makeBody(rng, tag, labels);
    const frames = 1 + rng.int(3);
    const size = Math.ceil(body.length / frames) || 1;
    for (let at = 0; at < body.length; at += size) data.push(body.subarray(at, at + size));
    if (data.length === 0) data.push(Buffer.alloc(0));
    const cl = rng.weighted<string>([
      [4, 'none'],
      [4, 'right'],
      [2, 'more'],
      [2, 'less'],
      [1, 'zero'],
    ]);
    if (cl !== 'none' && cl !== 'right') labels.push(`h2-content-length:${cl}`);
    if (cl === 'right') headers.push(['content-length', String(body.length)]);
    if (cl === 'more') headers.push(['content-length', String(body.length + 1 + rng.int(10))]);
    if (cl === 'less' && body.length > 0) headers.push(['content-length', String(rng.int(body.length))]);
    if (cl === 'zero' && body.length > 0) headers.push(['content-length', '0']);
  }
  return { kind: 'h2', index, tag, headers, data, labels: [...new Set(labels)] };
}
