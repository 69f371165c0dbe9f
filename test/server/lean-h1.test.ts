// The lean HTTP/1.1 path (src/server/lean/) must answer byte for byte as node's http server
// does for the same requests: the same conversations are held with Portico twice, lean path on
// and off (PORTICO_LEAN_H1=0), and the bytes compared (Date values aside). Requests the lean
// path does not take (a body, HTTP/1.0, Connection: close, pipelining) come in the middle of
// kept-alive connections, so the hand-over to node's server is compared too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { RawClient, closedPort, startRawUpstream } from '../proxy/support.js';
import { leanStats } from '../../src/server/lean/lean-connection.js';
import { makeCerts } from '../helpers/tls-certs.js';

/** Canned upstream answers by path; HEAD gets the head only. */
const ANSWERS: Record<string, string> = {
  '/cl': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
  '/chunked': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  '/204': 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n',
  '/304': 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n',
  '/reason': 'HTTP/1.1 299 Fine Thanks\r\nContent-Length: 2\r\n\r\nok',
  '/cookies': 'HTTP/1.1 200 OK\r\nDate: Tue, 01 Jan 2030 00:00:00 GMT\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n',
  '/empty': 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
  '/404': 'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n',
  '/post': 'HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nmade',
};

function serveCanned(socket: Socket): void {
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
      const path = target!.replace(/^\/up/, '').split('?')[0]!;
      if (path === '/close-delimited') {
        socket.end(method === 'HEAD' ? 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n' : 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end');
        return;
      }
      const answer = ANSWERS[path] ?? ANSWERS['/404']!;
      socket.write(method === 'HEAD' ? answer.slice(0, answer.indexOf('\r\n\r\n') + 4) : answer);
    }
  });
}

interface Step {
  send: string;
  /** Sent in two writes this far apart in `send` (a head split over reads). */
  splitAt?: number;
  head?: boolean;
  /** The response ends the connection (Connection: close, a close-delimited body). */
  last?: boolean;
}

const get = (path: string, extra = ''): Step => ({ send: `GET ${path} HTTP/1.1\r\nHost: lean.test\r\n${extra}\r\n` });
const head = (path: string): Step => ({ send: `HEAD ${path} HTTP/1.1\r\nHost: lean.test\r\n\r\n`, head: true });

/** Each inner list is one connection's conversation. */
const CONVERSATIONS: Step[][] = [
  [get('/up/cl'), get('/up/chunked'), head('/up/cl'), head('/up/chunked'), get('/up/204'), get('/up/304'), get('/up/reason'), get('/up/cookies'), get('/up/empty')],
  [get('/up/cl', 'Connection: keep-alive\r\nAccept: */*\r\nX-Forwarded-For: 10.9.9.9\r\n'), get('/up/404'), get('/files/a.txt'), head('/files/a.txt')],
  [get('/files/a.txt', 'Range: bytes=1-3\r\n'), get('/files/a.txt', 'If-None-Match: *\r\n'), get('/files/missing'), get('/respond'), head('/respond'), get('/dir')],
  [get('/down/x'), get('/up/cl')],
  // Hand-overs: a body, HTTP/1.0, pipelining, then the connection is node's.
  [get('/up/cl'), { send: 'POST /up/post HTTP/1.1\r\nHost: lean.test\r\nContent-Length: 3\r\n\r\nabc' }, get('/up/cl')],
  [get('/up/cl'), { send: `${get('/up/cl').send}${get('/up/chunked').send}` }, get('/up/chunked')],
  [get('/up/cl'), { send: 'GET /up/cl HTTP/1.0\r\nHost: lean.test\r\n\r\n', last: true }],
  [get('/up/chunked'), { send: 'GET /up/cl HTTP/1.1\r\nHost: lean.test\r\nConnection: close\r\n\r\n', last: true }],
  [get('/up/close-delimited')],
  [{ send: 'GET /up/cl HTTP/1.1\r\nHost: lean.test\r\nHost: other\r\n\r\n', last: true }],
  [{ send: 'GET /up/cl HTTP/1.1\r\n\r\n', last: true }],
  [{ send: 'GET /up/cl HTTP/1.1\r\nHost: lean.test\r\nBad Header: x\r\n\r\n', last: true }],
  [{ send: 'GET http://lean.test/up/cl HTTP/1.1\r\nHost: lean.test\r\n\r\n' }],
  [{ send: 'GET /up/%zz HTTP/1.1\r\nHost: lean.test\r\n\r\n' }],
  // Issue 12: a fragment is a 400 that closes the connection; dot segments go upstream resolved.
  [get('/up/cl'), { send: 'GET /up/#/../cl HTTP/1.1\r\nHost: lean.test\r\n\r\n', last: true }],
  [get('/up/x/../cl'), get('/up/x/%2e%2e/chunked?q=1')],
  [get('/up/cl', 'X_Forwarded_For: 6.6.6.6\r\nx_y: 1\r\n'), get('/up/cl')],
  // More header fields than node's parser hands over in one batch (32), and a split head.
  [get('/up/cl', Array.from({ length: 40 }, (_, i) => `X-H${i}: v\r\n`).join('')), get('/up/chunked')],
  [{ ...get('/up/cl'), splitAt: 20 }, get('/up/cl')],
];

/** Every response's bytes, Date values blanked; a closed connection is recorded as such. */
async function converse(port: number, steps: Step[], ca?: string): Promise<string[]> {
  const client = ca === undefined ? await RawClient.connect(port) : await RawClient.connectTls(port, ca);
  const out: string[] = [];
  try {
    for (const step of steps) {
      if (step.splitAt === undefined) client.write(step.send);
      else {
        client.write(step.send.slice(0, step.splitAt));
        await new Promise((r) => setTimeout(r, 50));
        client.write(step.send.slice(step.splitAt));
      }
      // A pipelined pair: two responses.
      const count = step.send.split(' HTTP/1.').length - 1;
      for (let i = 0; i < count; i++) {
        try {
          const res = await client.response({ head: step.head ?? false, ms: 5000 });
          out.push(res.raw.toString('latin1').replace(/^Date: .*$/gim, 'Date: -'));
        } catch (err) {
          out.push(`error: ${(err as Error).message.slice(0, 60)}`);
        }
      }
      if (step.last) {
        await client.untilClosed();
        out.push('closed');
      }
    }
  } finally {
    client.destroy();
  }
  return out;
}

interface Setup {
  upstream: string;
  down: string;
  files: string;
  tls?: { cert: string; key: string };
}

async function withPortico<T>(lean: boolean, setup: Setup, fn: (p: TestPortico) => Promise<T>): Promise<T> {
  const { upstream, down, files } = setup;
  const before = process.env.PORTICO_LEAN_H1;
  process.env.PORTICO_LEAN_H1 = lean ? '1' : '0';
  let portico: TestPortico;
  try {
    portico = await startPortico({
      servers: [
        {
          ...(setup.tls ? { tls: setup.tls } : {}),
          routes: [
            { path: '/up/', proxy: { to: upstream } },
            { path: '/down/', proxy: { to: down } },
            { path: '/files/', files: { root: files } },
            { path: '= /respond', respond: { status: 200, body: 'fixed\n' } },
            // nginx's 301 to the slashed path, for a proxied location.
            { path: '/dir/', proxy: { to: upstream } },
          ],
        },
      ],
    });
  } finally {
    if (before === undefined) delete process.env.PORTICO_LEAN_H1;
    else process.env.PORTICO_LEAN_H1 = before;
  }
  try {
    return await fn(portico);
  } finally {
    await portico.close();
  }
}

async function compare(setup: Setup, ca?: string): Promise<void> {
  const viaNode = await withPortico(false, setup, async (p) => {
    const lean = leanStats.requests;
    const out = await Promise.all(CONVERSATIONS.map((c) => converse(p.port, c, ca)));
    assert.equal(leanStats.requests, lean, 'PORTICO_LEAN_H1=0: nothing on the lean path');
    return out;
  });
  const viaLean = await withPortico(true, setup, async (p) => {
    const lean = leanStats.requests;
    const handOffs = leanStats.handOffs;
    const out = await Promise.all(CONVERSATIONS.map((c) => converse(p.port, c, ca)));
    assert.ok(leanStats.requests - lean >= 25, `most requests took the lean path (${leanStats.requests - lean})`);
    assert.ok(leanStats.handOffs - handOffs >= 8, `the others were handed to node (${leanStats.handOffs - handOffs})`);
    return out;
  });
  for (let i = 0; i < CONVERSATIONS.length; i++) {
    assert.deepEqual(viaLean[i], viaNode[i], `conversation ${i}: ${CONVERSATIONS[i]!.map((s) => s.send.split('\r\n')[0]).join(' | ')}`);
  }
}

async function setUp(t: { after(fn: () => unknown): void }): Promise<Setup> {
  const upstream = await startRawUpstream(serveCanned);
  t.after(() => upstream.close());
  const down = `127.0.0.1:${await closedPort()}`;
  const dir = await mkdtemp(join(tmpdir(), 'portico-lean-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'files'));
  await writeFile(join(dir, 'files', 'a.txt'), 'abcdefgh\n');
  return { upstream: upstream.address, down, files: dir };
}

test('lean HTTP/1.1 path: the same bytes as node\'s http server, hand-overs included', async (t) => {
  await compare(await setUp(t));
});

test('lean HTTP/1.1 path over TLS (ALPN http/1.1): the same bytes as node\'s https server', async (t) => {
  const setup = await setUp(t);
  const certs = makeCerts(['DNS:localhost', 'IP:127.0.0.1']);
  t.after(() => certs.cleanup());
  const cert = join(certs.dir, 'server.pem');
  const key = join(certs.dir, 'server.key');
  await compare({ ...setup, tls: { cert, key } }, certs.ca);
});
