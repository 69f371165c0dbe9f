// The end of a lean HTTP/1.1 response with nothing left to write costs no write. Over TLS a
// socket's writes complete a tick later, so its buffer is rarely empty when the relay ends a
// proxied response right after the last body chunk: the end used to write an empty buffer, a
// pass through node's TLS layer and a 0-byte write(2) per response. The write that completes
// a Content-Length body now ends the response. Counted here by wrapping node's socket write
// (every lean write goes through Socket.prototype._writeGeneric).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { startPortico } from '../helpers/portico.js';
import { RawClient, startRawUpstream } from '../proxy/support.js';
import { makeCerts } from '../helpers/tls-certs.js';
import { leanStats } from '../../src/server/lean/lean-connection.js';

type WriteGeneric = (this: Socket, writev: boolean, data: unknown, encoding: string, cb: (err?: Error | null) => void) => unknown;

test('lean path over TLS: a proxied Content-Length response ends with its last body write, no empty write after it; keep-alive goes on', async (t) => {
  const certs = makeCerts(['DNS:localhost', 'IP:127.0.0.1']);
  t.after(() => certs.cleanup());
  const body = 'x'.repeat(1024);
  const upstream = await startRawUpstream((socket) => {
    socket.on('data', () => socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
  });
  t.after(() => upstream.close());
  const portico = await startPortico({
    servers: [{ tls: { cert: join(certs.dir, 'server.pem'), key: join(certs.dir, 'server.key') }, routes: [{ path: '/', proxy: { to: upstream.address } }] }],
  });
  t.after(() => portico.close());

  const proto = Socket.prototype as unknown as { _writeGeneric: WriteGeneric };
  const original = proto._writeGeneric;
  let empty = 0;
  let writes = 0;
  proto._writeGeneric = function (this: Socket, writev, data, encoding, cb) {
    writes++;
    if (!writev && (data as Buffer | string).length === 0) empty++;
    return original.call(this, writev, data, encoding, cb);
  };
  t.after(() => {
    proto._writeGeneric = original;
  });

  const client = await RawClient.connectTls(portico.port, certs.ca);
  t.after(() => client.destroy());
  const lean = leanStats.requests;
  for (let i = 0; i < 20; i++) {
    client.write('GET /page HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const res = await client.response({ ms: 5000 });
    assert.match(res.raw.toString('latin1'), /^HTTP\/1\.1 200 /);
    assert.ok(res.raw.toString('latin1').endsWith(body), `response ${i}: the whole body`);
  }
  assert.equal(leanStats.requests - lean, 20, 'every request on the lean path');
  assert.ok(writes > 20, `writes were counted (${writes})`);
  assert.equal(empty, 0, `no empty write (${empty} in ${writes} writes)`);
});
