// Issue 12, item 15b: a request with a body on a method that usually has none (GET, HEAD,
// DELETE, OPTIONS), followed by a pipelined request on the same client connection: the body is
// forwarded with its request (never read as the start of the next request), the pipelined
// request reaches the upstream after it, as its own request, and the answers come back in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico } from '../helpers/portico.js';
import { jsonAnswer, startRecordingOrigin } from '../helpers/recording-origin.js';
import { RawClient, within } from '../proxy/support.js';
import type { Socket } from 'node:net';

const target = (body: Buffer) => (JSON.parse(body.toString()) as { target: string }).target;

const BODIES: Record<string, string> = {
  'POST with Content-Length': 'POST /one HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello',
  'GET with Content-Length': 'GET /one HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello',
  'GET with a chunked body': 'GET /one HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'DELETE with Content-Length': 'DELETE /one HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello',
  'OPTIONS with Content-Length': 'OPTIONS /one HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello',
};

for (const buffering of [true, false]) {
  for (const [name, first] of Object.entries(BODIES)) {
    test(`${name} then a pipelined GET (request buffering ${buffering ? 'on' : 'off'}): in order, body with its request`, async (t) => {
      const origin = await startRecordingOrigin();
      t.after(() => origin.close());
      const portico = await startPortico({
        servers: [{ routes: [{ path: '/', proxy: { to: origin.address, buffering: { request: buffering } } }] }],
      });
      t.after(() => portico.close());
      const client = await RawClient.connect(portico.port);
      t.after(() => client.destroy());
      // Both requests in one write: the second one is already in Portico's buffer with the body.
      client.write(`${first}GET /two HTTP/1.1\r\nHost: example.test\r\n\r\n`);
      const one = await client.response();
      const two = await client.response();
      assert.deepEqual([one.status, two.status], [200, 200]);
      assert.deepEqual([target(one.body), target(two.body)], ['/one', '/two']);
      assert.deepEqual(
        origin.requests.map((r) => [r.method, r.target, r.body.toString()]),
        [
          [first.split(' ')[0], '/one', 'hello'],
          ['GET', '/two', ''],
        ],
      );
      assert.deepEqual(origin.unframed, []);
    });
  }
}

test('HEAD with Content-Length then a pipelined GET: in order, the body with the HEAD', async (t) => {
  const origin = await startRecordingOrigin((req) => (req.method === 'HEAD' ? 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' : jsonAnswer(req)));
  t.after(() => origin.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: origin.address } }] }] });
  t.after(() => portico.close());
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write('HEAD /one HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhelloGET /two HTTP/1.1\r\nHost: example.test\r\n\r\n');
  const one = await client.response({ head: true });
  assert.equal(one.status, 200);
  const two = await client.response();
  assert.equal(two.status, 200);
  assert.deepEqual(
    origin.requests.map((r) => [r.method, r.target, r.body.toString()]),
    [
      ['HEAD', '/one', 'hello'],
      ['GET', '/two', ''],
    ],
  );
});

/** An origin that answers /slow only after a while (the pipelined request behind it must wait), everything else at once. */
function slowFirst() {
  const state = { slowAnswered: false, overtaken: [] as string[] };
  const originP = startRecordingOrigin((req, socket: Socket) => {
    if (req.target !== '/slow') {
      if (!state.slowAnswered) state.overtaken.push(req.target);
      return jsonAnswer(req);
    }
    setTimeout(() => {
      state.slowAnswered = true;
      socket.write(jsonAnswer(req));
    }, 100);
  });
  return { originP, state };
}

test('pipelined requests are handled one at a time: the second reaches the upstream after the first is answered', async (t) => {
  const { originP, state } = slowFirst();
  const origin = await originP;
  t.after(() => origin.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: origin.address } }] }] });
  t.after(() => portico.close());
  const client = await RawClient.connect(portico.port);
  t.after(() => client.destroy());
  client.write('GET /slow HTTP/1.1\r\nHost: example.test\r\n\r\nGET /two HTTP/1.1\r\nHost: example.test\r\n\r\nGET /three HTTP/1.1\r\nHost: example.test\r\n\r\n');
  const answers = [await client.response(), await client.response(), await client.response()];
  assert.deepEqual(
    answers.map((r) => target(r.body)),
    ['/slow', '/two', '/three'],
  );
  assert.deepEqual(state.overtaken, []);
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    ['/slow', '/two', '/three'],
  );
});

const RAW_SOCKET: Record<string, string> = {
  'an Upgrade': 'GET /ws HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  'a CONNECT': 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n',
};

for (const [name, second] of Object.entries(RAW_SOCKET)) {
  test(`${name} pipelined behind a response still in progress: answered after it (it used to throw, uncaught)`, async (t) => {
    const { originP } = slowFirst();
    const origin = await originP;
    t.after(() => origin.close());
    const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: origin.address } }] }] });
    t.after(() => portico.close());
    const client = await RawClient.connect(portico.port);
    t.after(() => client.destroy());
    client.write(`GET /slow HTTP/1.1\r\nHost: example.test\r\n\r\n${second}`);
    const first = await client.response();
    assert.equal(target(first.body), '/slow');
    const answer = await client.response();
    // The origin is no WebSocket server: its 200 comes back; CONNECT is refused with 400.
    if (name === 'a CONNECT') assert.equal(answer.status, 400);
    else assert.equal(target(answer.body), '/ws');
  });
}

test('a pipelined request whose client leaves while it waits is not counted in flight: a graceful stop completes', async (t) => {
  const { originP } = slowFirst();
  const origin = await originP;
  t.after(() => origin.close());
  const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: origin.address } }] }] });
  const client = await RawClient.connect(portico.port);
  client.write('GET /slow HTTP/1.1\r\nHost: example.test\r\n\r\nGET /two HTTP/1.1\r\nHost: example.test\r\n\r\n');
  while (origin.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
  client.destroy();
  await within(portico.close(), 10_000, 'a graceful stop');
  assert.deepEqual(
    origin.requests.map((r) => r.target),
    ['/slow'],
  );
});

// Fuzzer seed 12, case 309 (a loaded run, under undici): a HEAD waiting for its upstream, then a
// request node's parser rejects. The 400 was written at once, in the HEAD's place: the client
// read it as the HEAD's answer and its body as garbage. Answers go out in request order (RFC
// 9112 §9.3.2): the error follows the response in progress.
for (const method of ['GET', 'HEAD']) {
  test(`a malformed request pipelined behind a ${method} still waiting for its upstream: its 400 comes after that response`, async (t) => {
    const { originP } = slowFirst();
    const origin = await originP;
    t.after(() => origin.close());
    const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: origin.address } }] }] });
    t.after(() => portico.close());
    const client = await RawClient.connect(portico.port);
    t.after(() => client.destroy());
    // The lean path gives the connection to node's server for the bad head (HTTP/1.0 and a
    // Content-Length with a tab in it).
    client.write(`${method} /slow HTTP/1.1\r\nHost: example.test\r\n\r\nPOST /bad HTTP/1.0\r\nHost: example.test\r\nContent-Length: 1\t\r\n\r\nr`);
    const first = await client.response({ head: method === 'HEAD' });
    assert.equal(first.status, 200);
    if (method === 'GET') assert.equal(target(first.body), '/slow');
    const second = await client.response();
    assert.equal(second.status, 400);
    assert.equal(second.body.toString(), '400 Bad Request\n');
    await within(client.untilClosed(), 5000, 'the connection to close after the 400');
    assert.deepEqual(
      origin.requests.map((r) => r.target),
      ['/slow'],
    );
  });
}
