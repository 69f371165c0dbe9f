// Issue 12, item 15a, and the upstream parser's errors on a reused connection: a response with
// both Transfer-Encoding: chunked and Content-Length is read as chunked (RFC 9112 §6.3 rule 3),
// reaches the client newly framed without the received Content-Length, and its connection is
// closed afterwards ("ought to be handled as an error"); a malformed response on a reused
// connection is a prompt 502, not a wait for read_timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico } from '../helpers/portico.js';
import { jsonAnswer, startRecordingOrigin } from '../helpers/recording-origin.js';
import { RawClient, all, within } from '../proxy/support.js';
import { upstreamClient } from '../helpers/upstream-client.js';

const BODY = 'hello, chunked world';
const CHUNKED = `${(14).toString(16)}\r\n${BODY.slice(0, 14)}\r\n${(BODY.length - 14).toString(16)}\r\n${BODY.slice(14)}\r\n0\r\n\r\n`;

const BOTH: Record<string, string> = {
  'Transfer-Encoding then Content-Length': `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n${CHUNKED}`,
  'Content-Length then Transfer-Encoding': `HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED}`,
  'a Content-Length larger than the chunked body': `HTTP/1.1 200 OK\r\nContent-Length: 9999\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED}`,
};

// undici's parser refuses such a response (llhttp strict: "Content-Length can't be present with
// Transfer-Encoding"): a 502 there (docs/differences.md), and the connection closed all the same.
const READ = upstreamClient === 'node';

for (const [name, answer] of Object.entries(BOTH)) {
  test(`Transfer-Encoding and Content-Length (${name}): ${READ ? 'read as chunked, sent on without the length' : '502 (undici)'}, connection closed`, async (t) => {
    const origin = await startRecordingOrigin((req) => (req.target === '/both' ? answer : jsonAnswer(req)));
    t.after(() => origin.close());
    const portico = await startPortico({ servers: [{ routes: [{ path: '/', proxy: { to: origin.address, keepalive_connections: 1 } }] }] });
    t.after(() => portico.close());
    const client = await RawClient.connect(portico.port);
    t.after(() => client.destroy());
    client.write('GET /both HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const res = await client.response();
    if (READ) {
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), BODY);
      assert.deepEqual(all(res, 'content-length'), []);
      assert.deepEqual(all(res, 'transfer-encoding'), ['chunked']);
    } else {
      assert.equal(res.status, 502);
    }
    // The next request goes out on a new upstream connection, and gets its own answer.
    client.write('GET /next HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const next = await client.response();
    assert.equal((JSON.parse(next.body.toString()) as { target: string }).target, '/next');
    assert.deepEqual(
      origin.requests.map((r) => [r.target, r.connection]),
      [
        ['/both', 0],
        ['/next', 1],
      ],
    );
  });
}

const MALFORMED: Record<string, string> = {
  'not a status line': 'XYZ 200 OK\r\nContent-Length: 2\r\n\r\nok',
  'an invalid Content-Length': 'HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok',
  'a header without a colon': 'HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\nok',
};

for (const [name, answer] of Object.entries(MALFORMED)) {
  test(`a malformed response (${name}) on a reused connection: 502 at once, not after read_timeout`, async (t) => {
    const origin = await startRecordingOrigin((req) => (req.target === '/bad' ? answer : jsonAnswer(req)));
    t.after(() => origin.close());
    const portico = await startPortico({
      servers: [{ routes: [{ path: '/', proxy: { to: origin.address, keepalive_connections: 1, read_timeout: '60s' } }] }],
    });
    t.after(() => portico.close());
    const client = await RawClient.connect(portico.port);
    t.after(() => client.destroy());
    // A Content-Length response first: the connection is reused for the next one.
    client.write('GET /good HTTP/1.1\r\nHost: example.test\r\n\r\n');
    assert.equal((await client.response()).status, 200);
    client.write('GET /bad HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const res = await within(client.response({ ms: 30_000 }), 20_000, 'the answer to a malformed upstream response');
    assert.equal(res.status, 502);
    assert.deepEqual(
      origin.requests.map((r) => [r.target, r.connection]),
      [
        ['/good', 0],
        ['/bad', 0],
      ],
    );
  });
}
