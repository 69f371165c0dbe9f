/**
 * TLS test support: a throwaway CA whose certificates tests write to disk as a user's PEM
 * files would be, and clients (TLS, HTTPS/1.1, HTTP/2) that report what was negotiated.
 */
import { connect, type PeerCertificate, type TLSSocket, type ConnectionOptions } from 'node:tls';
import { connect as h2connect, type IncomingHttpHeaders } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCaCertificate, createLeafCertificate, generateKeyPair, keyToPem, parseCertificate, type KeyPair } from '../../src/tls/x509.js';

export interface TestCa {
  pem: string;
  issue(names: string[], opts?: { notBefore?: Date; notAfter?: Date }): Promise<{ cert: string; key: string }>;
}

export async function createTestCa(name = 'Portico Test CA'): Promise<TestCa> {
  const keys: KeyPair = await generateKeyPair();
  const now = Date.now();
  const pem = await createCaCertificate({ subject: `CN=${name}`, keys, notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 86_400_000) });
  const cert = parseCertificate(pem);
  return {
    pem,
    async issue(names, opts = {}) {
      const leafKeys = await generateKeyPair();
      const leaf = await createLeafCertificate({
        names,
        keys: leafKeys,
        notBefore: opts.notBefore ?? new Date(now - 60_000),
        notAfter: opts.notAfter ?? new Date(now + 3_600_000),
        issuer: { cert, keys },
      });
      return { cert: leaf, key: await keyToPem(leafKeys.privateKey) };
    },
  };
}

export async function tempDir(t: { after(fn: () => unknown): void }, prefix = 'portico-tls-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function writePair(dir: string, base: string, pair: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${base}.crt`);
  const key = join(dir, `${base}.key`);
  await writeFile(cert, pair.cert);
  await writeFile(key, pair.key);
  return { cert, key };
}

export interface Handshake {
  cert: PeerCertificate;
  alpn: string | false;
  protocol: string | null;
  reused: boolean;
  session: Buffer | undefined;
  authorized: boolean;
  authorizationError: string | undefined;
}

/** One TLS handshake to 127.0.0.1:port; resolves once done (and a TLS 1.3 ticket arrived when asked). */
export function handshake(port: number, opts: ConnectionOptions & { waitForTicket?: boolean } = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
    const finish = () => {
      const result: Handshake = {
        cert: socket.getPeerCertificate(),
        alpn: socket.alpnProtocol ?? false,
        protocol: socket.getProtocol(),
        reused: socket.isSessionReused(),
        session,
        authorized: socket.authorized,
        authorizationError: socket.authorizationError?.toString(),
      };
      socket.destroy();
      resolve(result);
    };
    socket.on('session', (s: Buffer) => {
      session = s;
      if (opts.waitForTicket) finish();
    });
    socket.once('secureConnect', () => {
      if (!opts.waitForTicket) finish();
      else socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'); // TLS 1.3 tickets follow the first exchange
    });
    socket.once('error', reject);
  });
}

export interface Reply {
  status: number;
  /** [name, value] pairs, names lower-cased, without pseudo-headers and date. */
  headers: [string, string][];
  body: string;
  protocol: string;
}

export interface RequestSpec {
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string;
  /** HTTP/2 only: send the body without Content-Length. */
  noLength?: boolean;
}

/** An HTTPS/1.1 request over a new connection. */
export function h1Request(port: number, ca: string, spec: RequestSpec, servername = 'localhost'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { ...spec.headers } as Record<string, string | string[]>;
    if (spec.body !== undefined) headers['content-length'] = String(Buffer.byteLength(spec.body));
    const req = httpsRequest(
      { host: '127.0.0.1', port, servername, ca, method: spec.method ?? 'GET', path: spec.path, headers: { host: `${servername}:${port}`, ...headers }, agent: false, ALPNProtocols: ['http/1.1'] } as never,
      (res: import('node:http').IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: pairs(res.rawHeaders), body, protocol: `HTTP/${res.httpVersion}` }));
      },
    );
    req.on('error', reject);
    req.end(spec.body);
  });
}

/** An HTTP/2 request over a new connection. */
export function h2Request(port: number, ca: string, spec: RequestSpec, servername = 'localhost'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://${servername}:${port}`, { ca, host: '127.0.0.1', servername } as never);
    session.on('error', reject);
    const headers: Record<string, string | string[]> = { ':method': spec.method ?? 'GET', ':path': spec.path, ...spec.headers };
    if (spec.body !== undefined && !spec.noLength) headers['content-length'] = String(Buffer.byteLength(spec.body));
    const stream = session.request(headers);
    let status = 0;
    let responseHeaders: [string, string][] = [];
    stream.on('response', (h: IncomingHttpHeaders) => {
      status = Number(h[':status']);
      const raw: string[] = [];
      for (const [name, value] of Object.entries(h)) for (const v of Array.isArray(value) ? value : [value]) raw.push(name, String(v));
      responseHeaders = pairs(raw);
    });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (body += c));
    stream.on('end', () => {
      session.close();
      resolve({ status, headers: responseHeaders, body, protocol: 'HTTP/2' });
    });
    stream.on('error', reject);
    stream.end(spec.body);
  });
}

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name.startsWith(':') || name === 'date' || name === 'connection' || name === 'keep-alive') continue;
    out.push([name, raw[i + 1]!]);
  }
  return out;
}
