/**
 * Issue 18 item 2: request heads whose lines end in a bare LF are read as nginx reads them
 * (RFC 9112 §2.2 allows a recipient to), with no other leniency: a bare CR still ends nothing
 * and gets a 400, two LFs end the head (and never hide the lines after them in it), and the
 * upstream always gets CRLF (Portico writes its own heads). Each request goes to a real nginx
 * and to Portico, both in front of the same recording origin, and must meet the same fate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, proxyTo } from '../helpers/portico.js';
import { startRecordingOrigin, type RecordingOrigin } from '../helpers/recording-origin.js';
import { makePrefix, startNginx, haveNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { freePort } from '../helpers/django.js';
import { RawClient, delay } from '../proxy/support.js';

const HIDDEN = 'a field after two LFs';

/** [name, bytes]: `PATH` is replaced by /nginx/... or /portico/... so the origin tells them apart. */
const CASES: [string, string][] = [
  ['every line ends in LF', 'GET PATH/lf HTTP/1.1\nHost: a\nX-One: 1\nConnection: close\n\n'],
  ['HTTP/1.0 with LF', 'GET PATH/lf10 HTTP/1.0\nHost: a\n\n'],
  ['CRLF request-line, LF fields', 'GET PATH/mixed HTTP/1.1\r\nHost: a\nX-One: 1\r\nConnection: close\n\r\n'],
  ['LF head, CRLF empty line', 'GET PATH/lfcrlf HTTP/1.1\nHost: a\nConnection: close\n\r\n'],
  ['empty lines before the request-line', '\r\n\nGET PATH/leading HTTP/1.1\nHost: a\nConnection: close\n\n'],
  ['LF head with a Content-Length body', 'POST PATH/body HTTP/1.1\nHost: a\nContent-Length: 3\nConnection: close\n\nabc'],
  ['bare CR ends the request-line', 'GET PATH/cr HTTP/1.1\rHost: a\r\nConnection: close\r\n\r\n'],
  ['bare CR before the empty line', 'GET PATH/crend HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\rX'],
  ['bare CR inside a field line', 'GET PATH/crfield HTTP/1.1\nHost: a\nX-One: 1\rX-Two: 2\nConnection: close\n\n'],
  ['obs-fold after an LF line', 'GET PATH/fold HTTP/1.1\nHost: a\nX-One: 1\n X-Two: 2\nConnection: close\n\n'],
  // Two LFs end the head: the Authorization line after them is not this request's (nginx
  // reads it as the next request-line, which it refuses). Compared by what reaches the origin
  // only: nginx answers the first request before refusing the second, Portico may refuse the
  // connection's unreadable rest first (as it does with CRLF).
  [HIDDEN, 'GET PATH/hidden HTTP/1.0\n\nAuthorization: Basic eDp5\n\n'],
];

async function send(port: number, bytes: string): Promise<{ status: number | undefined; closed: boolean }> {
  const client = await RawClient.connect(port);
  try {
    client.write(Buffer.from(bytes, 'latin1'));
    const res = await client.response({ ms: 5000 }).catch(() => undefined);
    return { status: res?.status, closed: client.ended };
  } finally {
    client.destroy();
  }
}

async function rig(t: { after(fn: () => unknown): void }): Promise<{ origin: RecordingOrigin; nginxPort: number; porticoPort: number }> {
  const origin = await startRecordingOrigin();
  t.after(() => origin.close());
  const nginxPort = await freePort();
  const prefix = await makePrefix({
    'nginx.conf': `worker_processes 1; events { worker_connections 64; } http { ${TEMP_PATHS} access_log off;
      server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://${origin.address}; proxy_http_version 1.1; } } }`,
  });
  t.after(() => prefix.remove());
  const nginx = await startNginx(prefix, nginxPort);
  t.after(() => nginx.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(origin.address) }] }] });
  t.after(() => portico.close());
  return { origin, nginxPort, porticoPort: portico.port };
}

test('bare LF heads: the same status as nginx for each case, and the upstream gets the same requests', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const { origin, nginxPort, porticoPort } = await rig(t);
  for (const [name, bytes] of CASES) {
    const n = await send(nginxPort, bytes.replace('PATH', '/nginx'));
    const p = await send(porticoPort, bytes.replace('PATH', '/portico'));
    if (name !== HIDDEN) assert.equal(p.status, n.status, `${name}: nginx ${n.status}, Portico ${p.status}`);
  }
  await delay(100);
  const seen = (who: string) =>
    origin.requests
      .filter((r) => r.target.startsWith(`/${who}/`))
      .map((r) => ({ target: r.target.slice(who.length + 1), method: r.method, one: r.headers.find(([k]) => k.toLowerCase() === 'x-one')?.[1], auth: r.headers.some(([k]) => k.toLowerCase() === 'authorization'), body: r.body.toString() }));
  const portico = seen('portico');
  const nginx = seen('nginx');
  assert.deepEqual(nginx.map((r) => r.target), ['/lf', '/lf10', '/mixed', '/lfcrlf', '/leading', '/body', '/hidden']);
  // /hidden: forwarded as nginx forwards it, or not at all; never with the line after the empty one.
  assert.deepEqual(portico.filter((r) => r.target !== '/hidden'), nginx.filter((r) => r.target !== '/hidden'));
  for (const r of portico.filter((r) => r.target === '/hidden')) assert.equal(r.auth, false, 'a line after the empty line is not a field of the request');
});

test('bare LF heads: what reaches the upstream is framed with CRLF only', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(origin.address) }] }] });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  const r = await send(portico.port, 'POST /x HTTP/1.1\nHost: a\nX-One: 1\nContent-Length: 3\nConnection: close\n\nab\n');
  assert.equal(r.status, 200);
  assert.equal(origin.requests.length, 1);
  assert.equal(origin.requests[0]!.body.toString('latin1'), 'ab\n', 'the body is not touched');
  const raw = origin.received[0]!.toString('latin1');
  const head = raw.slice(0, raw.indexOf('\r\n\r\n') + 4);
  assert.ok(head.includes('x-one: 1\r\n') || head.includes('X-One: 1\r\n'), head);
  assert.equal(/[^\r]\n/.test(head), false, `a bare LF reached the upstream: ${JSON.stringify(head)}`);
});

test('bare LF heads: one split over several reads is read once whole; a bare CR in it still gets 400', async (t) => {
  const origin = await startRecordingOrigin();
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(origin.address) }] }] });
  t.after(() => Promise.all([portico.close(), origin.close()]));
  for (const [parts, status] of [
    [['GET /split HTTP/1.1\nHo', 'st: a\nX-One: 1\n', '\n'], 200],
    [['GET /split-cr HTTP/1.1\nHost: a\n', 'X-One: 1\rX-Two: 2\n\n'], 400],
  ] as const) {
    const client = await RawClient.connect(portico.port);
    t.after(() => client.destroy());
    for (const part of parts) {
      client.write(part);
      await delay(30);
    }
    assert.equal((await client.response()).status, status, parts.join(''));
  }
  assert.deepEqual(origin.requests.map((r) => r.target), ['/split']);
});
