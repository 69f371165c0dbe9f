/**
 * HTTP/2 support for the security tests: Portico on a TLS listener with the internal CA (HTTP/2
 * is offered by ALPN there), and one request on its own session that reports what happened to
 * the stream: a status and body, or the RST_STREAM code / session error that ended it.
 */
import { connect, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';
import { within } from '../proxy/support.js';

export interface TlsPortico {
  portico: TestPortico;
  port: number;
  /** The internal CA's root certificate (PEM). */
  ca: string;
  close(): Promise<void>;
}

/** Portico with every server on `tls: internal`. */
export async function startTlsPortico(input: PorticoConfigInput): Promise<TlsPortico> {
  const dataDir = await mkdtemp(join(tmpdir(), 'portico-sec-h2-'));
  const portico = await startPortico({ ...input, data_dir: dataDir, servers: input.servers.map((s) => ({ tls: 'internal' as const, ...s })) });
  const ca = await readFile(join(dataDir, 'pki/authorities/local/root.crt'), 'utf8');
  return {
    portico,
    port: portico.port,
    ca,
    close: async () => {
      await portico.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface H2Outcome {
  status: number;
  body: string;
  /** RST_STREAM code (0: the stream ended normally). */
  rstCode: number;
}

/**
 * One request. `body` chunks are written one per DATA frame; `end: false` leaves the stream
 * open after them (the caller's `stream` callback may finish it).
 */
export function h2Exchange(
  tls: TlsPortico,
  headers: OutgoingHttpHeaders,
  body: (string | Buffer)[] = [],
  opts: { end?: boolean; stream?: (s: ClientHttp2Stream) => void; ms?: number } = {},
): Promise<H2Outcome> {
  const session = connect(`https://localhost:${tls.port}`, { ca: tls.ca, host: '127.0.0.1', servername: 'localhost' } as never);
  session.on('error', () => {});
  const done = new Promise<H2Outcome>((resolve) => {
    const stream = session.request({ ':method': 'GET', ...headers }, { endStream: body.length === 0 && opts.end !== false });
    let status = 0;
    let text = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (text += c));
    stream.on('error', () => {});
    stream.on('close', () => {
      session.close();
      resolve({ status, body: text, rstCode: stream.rstCode ?? 0 });
    });
    for (let i = 0; i < body.length; i++) {
      if (i === body.length - 1 && opts.end !== false) stream.end(body[i]);
      else stream.write(body[i]);
    }
    opts.stream?.(stream);
  });
  return within(done, opts.ms ?? 10_000, 'the HTTP/2 stream to close').finally(() => session.destroy());
}
