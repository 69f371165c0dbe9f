// The lean HTTP/2 path (src/server/lean/lean-h2.ts) must answer as node's compatibility API
// does: the same requests are made twice, lean path on and off (PORTICO_LEAN_H2=0), and each
// answer's status, fields (Date aside) and body compared. Streams the lean path does not take
// (a body, Expect) are among them, on the same sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { createServer, type Socket } from 'node:net';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { closedPort, within } from '../proxy/support.js';
import { makeCerts } from '../helpers/tls-certs.js';
import { leanH2Stats } from '../../src/server/lean/lean-h2.js';

const ANSWERS: Record<string, string> = {
  '/cl': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
  '/chunked': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  '/204': 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n',
  '/304': 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n',
  '/cookies': 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok',
  '/post': 'HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nmade',
  '/404': 'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n',
};

/** Canned upstream answers by path (after /up); HEAD gets the head only. */
async function cannedUpstream(): Promise<{ address: string; close(): void }> {
  const server = createServer((socket: Socket) => {
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        const len = /content-length: *(\d+)/i.exec(head);
        const bodyLen = len ? Number(len[1]) : 0;
        if (buf.length < end + 4 + bodyLen) return;
        buf = buf.slice(end + 4 + bodyLen);
        const [method, target] = head.split(' ');
        const answer = ANSWERS[target!.replace(/^\/up/, '').split('?')[0]!] ?? ANSWERS['/404']!;
        socket.write(method === 'HEAD' ? answer.slice(0, answer.indexOf('\r\n\r\n') + 4) : answer);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { address: `127.0.0.1:${port}`, close: () => server.close() };
}

interface Ask {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

const ASKS: Ask[] = [
  { method: 'GET', path: '/up/cl' },
  { method: 'HEAD', path: '/up/cl' },
  { method: 'GET', path: '/up/chunked' },
  { method: 'GET', path: '/up/204' },
  { method: 'GET', path: '/up/304' },
  { method: 'GET', path: '/up/cookies' },
  { method: 'POST', path: '/up/post', body: 'abc' },
  { method: 'POST', path: '/up/post', body: 'abc', headers: { expect: '100-continue' } },
  { method: 'GET', path: '/files/a.txt' },
  { method: 'HEAD', path: '/files/a.txt' },
  { method: 'GET', path: '/files/a.txt', headers: { range: 'bytes=1-3' } },
  { method: 'GET', path: '/files/missing' },
  { method: 'GET', path: '/respond' },
  { method: 'HEAD', path: '/respond' },
  { method: 'GET', path: '/down/x' },
  { method: 'GET', path: '/dir' },
  { method: 'GET', path: '/up/%zz' },
  { method: 'DELETE', path: '/up/cl' },
];

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

function ask(session: ClientHttp2Session, a: Ask): Promise<Answer> {
  return within(
    new Promise<Answer>((resolve, reject) => {
      const stream = session.request({ ':method': a.method, ':path': a.path, ...(a.headers ?? {}) }, { endStream: a.body === undefined });
      let status = 0;
      const headers: Record<string, unknown> = {};
      stream.on('response', (h: IncomingHttpHeaders) => {
        status = Number(h[':status']);
        for (const [k, v] of Object.entries(h)) if (k !== ':status' && k !== 'date') headers[k] = v;
      });
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve({ status, headers, body: Buffer.concat(chunks).toString('latin1') }));
      stream.on('error', reject);
      if (a.body !== undefined) stream.end(a.body);
    }),
    10_000,
    `${a.method} ${a.path}`,
  );
}

async function answers(lean: boolean, setup: { upstream: string; down: string; files: string; tls: { cert: string; key: string } }, ca: string): Promise<{ out: Answer[]; leanStreams: number }> {
  const before = process.env.PORTICO_LEAN_H2;
  process.env.PORTICO_LEAN_H2 = lean ? '1' : '0';
  let portico: TestPortico;
  try {
    portico = await startPortico({
      servers: [
        {
          tls: setup.tls,
          routes: [
            { path: '/up/', proxy: { to: setup.upstream } },
            { path: '/down/', proxy: { to: setup.down } },
            { path: '/files/', files: { root: setup.files } },
            { path: '= /respond', respond: { status: 200, body: 'fixed\n' } },
            { path: '/dir/', proxy: { to: setup.upstream } },
          ],
        },
      ],
    });
  } finally {
    if (before === undefined) delete process.env.PORTICO_LEAN_H2;
    else process.env.PORTICO_LEAN_H2 = before;
  }
  const session = h2connect(`https://localhost:${portico.port}`, { ca, host: '127.0.0.1', servername: 'localhost' } as never);
  session.on('error', () => {});
  const streams = leanH2Stats.streams;
  try {
    const out: Answer[] = [];
    for (const a of ASKS) out.push(await ask(session, a));
    // The same again, all at once on the one session.
    out.push(...(await Promise.all(ASKS.map((a) => ask(session, a)))));
    return { out, leanStreams: leanH2Stats.streams - streams };
  } finally {
    session.close();
    await portico.close();
  }
}

test('lean HTTP/2 path: the same answers as node\'s compatibility API (status, fields, body), bodiless GET/HEAD on it, the rest not', async (t) => {
  const certs = makeCerts(['DNS:localhost', 'IP:127.0.0.1']);
  t.after(() => certs.cleanup());
  const upstream = await cannedUpstream();
  t.after(() => upstream.close());
  const files = await mkdtemp(join(tmpdir(), 'portico-lean-h2-'));
  t.after(() => rm(files, { recursive: true, force: true }));
  await writeFile(join(files, 'a.txt'), 'abcdefgh\n');
  const setup = { upstream: upstream.address, down: `127.0.0.1:${await closedPort()}`, files, tls: { cert: join(certs.dir, 'server.pem'), key: join(certs.dir, 'server.key') } };
  const viaCompat = await answers(false, setup, certs.ca);
  const viaLean = await answers(true, setup, certs.ca);
  assert.equal(viaCompat.leanStreams, 0, 'PORTICO_LEAN_H2=0: nothing on the lean path');
  const bodiless = ASKS.filter((a) => (a.method === 'GET' || a.method === 'HEAD') && a.body === undefined).length;
  assert.equal(viaLean.leanStreams, 2 * bodiless, 'every bodiless GET and HEAD took the lean path, nothing else');
  assert.equal(viaLean.out.length, viaCompat.out.length);
  for (let i = 0; i < viaLean.out.length; i++) {
    const a = ASKS[i % ASKS.length]!;
    assert.deepEqual(viaLean.out[i], viaCompat.out[i], `${a.method} ${a.path} ${JSON.stringify(a.headers ?? {})}`);
  }
  // What the answers are, not only that they agree.
  const [cl, headCl, , noContent, , cookies] = viaLean.out;
  assert.equal(cl!.status, 200);
  assert.equal(cl!.body, 'hello');
  assert.equal(headCl!.body, '');
  assert.equal(headCl!.headers['content-length'], '5');
  assert.equal(noContent!.status, 204);
  assert.deepEqual(cookies!.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(cookies!.headers.connection, undefined);
  assert.equal(cookies!.headers['keep-alive'], undefined);
});
