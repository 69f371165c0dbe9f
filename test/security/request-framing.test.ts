/**
 * Issue 12 item 14: a request whose framing is in doubt never reaches the upstream.
 *  - HTTP/1.1: two Transfer-Encoding fields ("gzip", then "chunked") were accepted, since node
 *    keeps each field and Portico looked at the last one only; nginx answers 400 ("duplicate
 *    header line"), and so does Portico now, checked side by side with a real nginx. Nothing
 *    pipelined after such a request is served.
 *  - HTTP/2: a body whose DATA frames disagree with its content-length must not reach the
 *    upstream as a complete request: buffered (the default), it is read whole before the
 *    upstream is contacted; streamed, the last bytes are held until the stream ended well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startRecordingOrigin, type RecordingOrigin } from '../helpers/recording-origin.js';
import { makePrefix, startNginx, haveNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { freePort } from '../helpers/django.js';
import { RawClient, rawRequest, delay, eventually } from '../proxy/support.js';
import { h2Exchange, startTlsPortico } from './h2.js';
import { upstreamClient } from '../helpers/upstream-client.js';

const FRAMINGS: [string, string][] = [
  ['two Transfer-Encoding fields, gzip then chunked', 'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n'],
  ['two Transfer-Encoding fields, chunked twice', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n'],
  ['gzip, chunked in one field', 'Transfer-Encoding: gzip, chunked\r\n'],
  ['identity', 'Transfer-Encoding: identity\r\n'],
  ['chunked', 'Transfer-Encoding: chunked\r\n'],
];

function post(target: string, framing: string, after = ''): string {
  return `POST ${target} HTTP/1.1\r\nHost: a\r\n${framing}\r\n3\r\nabc\r\n0\r\n\r\n${after}`;
}

test('Transfer-Encoding: the same status as nginx for each framing, and a refused one reaches no upstream', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const origin = await startRecordingOrigin();
  t.after(() => origin.close());
  const port = await freePort();
  const prefix = await makePrefix({
    'nginx.conf': `worker_processes 1; events { worker_connections 64; } http { ${TEMP_PATHS} access_log off;
      server { listen 127.0.0.1:${port}; location / { proxy_pass http://${origin.address}; proxy_http_version 1.1; } } }`,
  });
  t.after(() => prefix.remove());
  const nginx = await startNginx(prefix, port);
  t.after(() => nginx.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(origin.address) }] }] });
  t.after(() => portico.close());

  for (const [name, framing] of FRAMINGS) {
    const expected = (await rawRequest(port, post('/nginx', framing))).status;
    const before = origin.requests.length;
    const got = (await rawRequest(portico.port, post('/portico', framing))).status;
    assert.equal(got, expected, `${name}: nginx ${expected}, Portico ${got}`);
    if (got >= 400) assert.equal(origin.requests.length, before, `${name}: nothing reached the upstream`);
  }
  // The last case is the one accepted: both forwarded it.
  assert.deepEqual(
    origin.requests.map((r) => [r.target, r.body.toString()]),
    [
      ['/nginx', 'abc'],
      ['/portico', 'abc'],
    ],
  );
});

test('nothing pipelined after a request refused for its framing is served', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(origin.address) }] }] });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  // Another hop could take the chunked body as the first request's (framed by the gzip field
  // it believed) and "GET /smuggled" as a second request of its own.
  client.write(post('/first', 'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n', 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n'));
  assert.equal((await client.response()).status, 400);
  await client.untilClosed();
  assert.equal(origin.requests.length, 0);
});

async function h2Setup(t: { after(fn: () => unknown): void }): Promise<{ origin: RecordingOrigin; tls: Awaited<ReturnType<typeof startTlsPortico>> }> {
  const origin = await startRecordingOrigin();
  const tls = await startTlsPortico({
    servers: [
      {
        routes: [
          { path: '/buffered/', ...proxyTo(origin.address) },
          { path: '/streamed/', ...proxyTo(origin.address, { buffering: { request: false } }) },
        ],
      },
    ],
  });
  t.after(() => Promise.all([tls.close(), origin.close()]));
  return { origin, tls };
}

const CASES: [string, string, string[]][] = [
  ['fewer bytes than content-length', '10', ['abc']],
  ['more bytes than content-length, in one frame', '2', ['abc']],
  ['exactly content-length, then more in another frame', '5', ['hello', 'xyz']],
  ['content-length 0 with a body', '0', ['abc']],
];

for (const prefix of ['/buffered/', '/streamed/']) {
  test(`HTTP/2 ${prefix}: DATA that disagrees with content-length never reaches the upstream as a request`, async (t) => {
    const { origin, tls } = await h2Setup(t);
    for (const [name, length, chunks] of CASES) {
      const out = await h2Exchange(tls, { ':method': 'POST', ':path': `${prefix}${length}`, 'content-length': length }, chunks);
      assert.notEqual(out.status, 200, `${name}: refused (${out.status || `RST ${out.rstCode}`})`);
    }
    // Whatever reached the origin (a streamed head) must not frame as a request.
    await delay(100); // bytes in flight to the origin have arrived (no timing is asserted)
    assert.deepEqual(
      origin.requests.map((r) => r.target),
      [],
    );
    // A body that agrees with its length still goes through, whole.
    const ok = await h2Exchange(tls, { ':method': 'POST', ':path': `${prefix}ok`, 'content-length': '8' }, ['hel', 'lo!!!']);
    assert.equal(ok.status, 200);
    assert.deepEqual(
      origin.requests.map((r) => [r.target, r.body.toString()]),
      [[`${prefix}ok`, 'hello!!!']],
    );
  });
}

test('HTTP/2: a malformed content-length is refused before routing', async (t) => {
  const { origin, tls } = await h2Setup(t);
  for (const value of ['abc', '1e1', '+3', '-1', '0x10']) {
    const out = await h2Exchange(tls, { ':method': 'POST', ':path': '/buffered/x', 'content-length': value }, ['abc']);
    assert.notEqual(out.status, 200, value);
  }
  assert.equal(origin.requests.length, 0);
});

test('HTTP/2 streamed: the announced length in one frame, more in a later one: the upstream never holds a whole request', async (t) => {
  const { origin, tls } = await h2Setup(t);
  const out = await h2Exchange(tls, { ':method': 'POST', ':path': '/streamed/late', 'content-length': '5' }, ['hello'], {
    end: false,
    stream: (s) => {
      void (async () => {
        // The head is at the origin; without holding back, "hello" would follow it at once.
        // (undici writes the head with the first body bytes: nothing reaches the origin then.)
        if (upstreamClient === 'node') await eventually(() => origin.received.some((b) => b.includes('\r\n\r\n')), 'the request head at the origin');
        await delay(100);
        s.end('xyz');
      })();
    },
  });
  assert.notEqual(out.status, 200);
  await eventually(() => origin.sockets.every((s) => s.destroyed), 'the upstream connection to close');
  assert.deepEqual(origin.requests, []);
  assert.doesNotMatch(Buffer.concat(origin.received).toString(), /hello/);
});

for (const [prefix, length] of [
  ['/buffered/', '10'],
  ['/buffered/', undefined],
  ['/streamed/', '10'],
  ['/streamed/', undefined],
] as const) {
  test(`HTTP/2 ${prefix} ${length === undefined ? 'without' : 'with'} content-length: a stream reset mid-body never reaches the upstream as a request`, async (t) => {
    const { origin, tls } = await h2Setup(t);
    const headers: Record<string, string> = { ':method': 'POST', ':path': `${prefix}reset` };
    if (length !== undefined) headers['content-length'] = length;
    const out = await h2Exchange(tls, headers, ['abc'], {
      end: false,
      stream: (s) => {
        void (async () => {
          // Buffered, nothing reaches the origin before the body is whole: give it a moment.
          if (prefix === '/streamed/') await eventually(() => origin.received.length > 0, 'the request head at the origin');
          else await delay(100);
          // destroy(): RST_STREAM alone (close() would send END_STREAM first: a whole body).
          s.destroy();
        })();
      },
    });
    assert.equal(out.status, 0, 'no answer: the stream is gone');
    await delay(100); // what Portico sent after the reset has arrived (no timing is asserted)
    assert.deepEqual(origin.requests, []);
  });
}
