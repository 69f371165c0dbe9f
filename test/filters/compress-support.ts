/**
 * Support for the compression tests: bodies that compress like real ones, decoding by
 * Content-Encoding, and raw clients for HTTP/1.1 (node's http, raw bytes kept) and HTTP/2.
 */
import { request } from 'node:http';
import { connect as h2connect, type IncomingHttpHeaders } from 'node:http2';
import zlib from 'node:zlib';
import { within } from '../proxy/support.js';

/** A JSON document of about `size` bytes, the same every run (names, numbers, dates, words). */
export function jsonBody(size: number): Buffer {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda portico proxy django gunicorn nginx caddy request response header body stream'.split(' ');
  const w = () => words[Math.floor(rnd() * words.length)]!;
  const items: unknown[] = [];
  let text = '';
  for (let i = 0; text.length < size; i++) {
    items.push({
      id: i,
      key: Math.floor(rnd() * 0xffffffff).toString(16),
      name: `${w()} ${w()}`,
      score: Math.round(rnd() * 100000) / 100,
      tags: [w(), w()],
      created: new Date(1.6e12 + Math.floor(rnd() * 1e11)).toISOString(),
      text: Array.from({ length: 5 + Math.floor(rnd() * 10) }, w).join(' '),
    });
    if (i % 16 === 0 || text.length > size - 4096) text = JSON.stringify({ results: items });
  }
  return Buffer.from(text);
}

/** The body as sent, decoded by its Content-Encoding (none: as it is). */
export function decode(body: Buffer, encoding: string | undefined): Buffer {
  switch (encoding) {
    case undefined:
      return body;
    case 'gzip':
      return zlib.gunzipSync(body);
    case 'br':
      return zlib.brotliDecompressSync(body);
    case 'zstd':
      return (zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer }).zstdDecompressSync(body);
    default:
      throw new Error(`unexpected Content-Encoding ${encoding}`);
  }
}

export interface Got {
  status: number;
  /** Lower-case names; repeated fields as arrays (node's rules), set-cookie aside. */
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: Buffer;
}

/**
 * An HTTP/1.1 request on a new keep-alive connection (so the lean path may take it; node's
 * client checks the framing), closed once the response is read.
 */
export function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  return within(
    new Promise<Got>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, headers: { host: 'a.test', connection: 'keep-alive', ...headers }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    20_000,
    `${method} ${path}`,
  );
}

/** An HTTP/2 request on a new session (TLS, the test CA). */
export function h2get(port: number, ca: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  return within(
    new Promise<Got>((resolve, reject) => {
      const session = h2connect(`https://localhost:${port}`, { ca, host: '127.0.0.1', servername: 'localhost' } as never);
      session.on('error', reject);
      const stream = session.request({ ':method': method, ':path': path, ...headers });
      let status = 0;
      const out: Record<string, string | string[] | undefined> = {};
      const raw: string[] = [];
      stream.on('response', (h: IncomingHttpHeaders) => {
        status = Number(h[':status']);
        for (const [name, value] of Object.entries(h)) {
          if (name.startsWith(':')) continue;
          out[name] = value as string | string[];
          for (const v of Array.isArray(value) ? value : [value]) raw.push(name, String(v));
        }
      });
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        session.close();
        resolve({ status, headers: out, rawHeaders: raw, body: Buffer.concat(chunks) });
      });
      stream.on('error', reject);
      stream.end();
    }),
    20_000,
    `h2 ${method} ${path}`,
  );
}

/** How many fields of this name a head has. */
export function fieldCount(got: Got, name: string): number {
  let n = 0;
  for (let i = 0; i < got.rawHeaders.length; i += 2) if (got.rawHeaders[i]!.toLowerCase() === name) n++;
  return n;
}
