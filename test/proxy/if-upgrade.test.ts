/**
 * A WebSocket handshake on a route whose rewrite steps answer it (nginx `if (...) { return 403; }`
 * in a proxying location) or pick `if` settings without a tunnel: the handshake gets that
 * answer on its socket, which then closes, as nginx answers it; one the steps leave alone is
 * tunnelled. (Before the steps were composed into the pipeline's chain, such a handshake was
 * closed without an answer.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startPortico } from '../helpers/portico.js';
import { RawClient, one, startRawUpstream, within } from './support.js';

const HANDSHAKE = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

test('a handshake the rewrite steps answer gets the answer and a closed connection; the others are tunnelled', async (t) => {
  let handshakes = 0;
  const upstream = await startRawUpstream((socket: Socket) => {
    socket.once('data', () => {
      handshakes++;
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    });
  });
  const p = await startPortico({
    servers: [
      {
        routes: [
          {
            path: '/ws',
            proxy: { to: upstream.address },
            response_headers: { set: { 'X-Route': 'own' } },
            rewrite: [
              { if: '{arg.deny}', then: [{ respond: { status: 403, body: 'denied\n' } }] },
              { if: { value: '{arg.plain}', op: '=', with: '1' }, then: [], route: { respond: { status: 200, body: 'variant\n' }, response_headers: { set: { 'X-Route': 'variant' } } } },
            ],
          },
        ],
      },
    ],
  });
  t.after(() => Promise.all([p.close(), upstream.close()]));

  const ask = async (path: string) => {
    const client = await RawClient.connect(p.port);
    client.write(HANDSHAKE(path));
    const res = await client.response({ head: path === '/ws' });
    return { client, res };
  };

  const denied = await ask('/ws?deny=1');
  assert.equal(denied.res.status, 403);
  assert.equal(denied.res.body.toString(), 'denied\n');
  assert.equal(one(denied.res, 'x-route'), 'own');
  await within(denied.client.closed, 5000, 'the connection to close after the answer');

  const variant = await ask('/ws?plain=1');
  assert.equal(variant.res.status, 200);
  assert.equal(variant.res.body.toString(), 'variant\n');
  assert.equal(one(variant.res, 'x-route'), 'variant');
  await within(variant.client.closed, 5000, 'the connection to close after the answer');
  assert.equal(handshakes, 0, 'neither reached the upstream');

  const tunnel = await ask('/ws');
  t.after(() => tunnel.client.destroy());
  assert.equal(tunnel.res.status, 101);
  assert.equal(one(tunnel.res, 'x-route'), 'own');
  assert.equal(handshakes, 1);
});
