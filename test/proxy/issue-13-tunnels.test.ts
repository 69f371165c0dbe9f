// Issue 13: open WebSocket tunnels belong to the server that accepted them. They were kept in
// one module-wide set, so closing one startServer() instance destroyed the tunnels of every
// other instance in the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startPortico, proxyTo, type TestPortico } from '../helpers/portico.js';
import { RawClient, eventually, startRawUpstream, within } from './support.js';

/** An upstream that answers every upgrade with a 101, then echoes what it receives. */
async function startEchoTunnelUpstream() {
  return startRawUpstream((socket: Socket) => {
    let buf = '';
    const onHead = (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      const rest = buf.slice(end + 4);
      if (rest) socket.write(rest, 'latin1');
      socket.on('data', (more: Buffer) => socket.write(more));
    };
    socket.on('data', onHead);
  });
}

/** A WebSocket handshake through `portico`, answered 101; then the tunnel echoes. */
async function openTunnel(portico: TestPortico): Promise<RawClient> {
  const client = await RawClient.connect(portico.port);
  client.write('GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  const res = await client.response({ head: true });
  assert.equal(res.status, 101);
  return client;
}

async function echoes(client: RawClient, text: string): Promise<void> {
  client.buf = Buffer.alloc(0);
  client.write(text);
  await eventually(() => client.buf.toString('latin1') === text, `"${text}" echoed through the tunnel`);
}

test('closing one server in a process closes its own WebSocket tunnels and leaves another server’s open', async (t) => {
  const upstream = await startEchoTunnelUpstream();
  const first = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  const second = await startPortico({ servers: [{ routes: [{ path: '/', ...proxyTo(upstream.address) }] }] });
  t.after(() => Promise.all([first.close(), second.close(), upstream.close()]));

  const viaFirst = await openTunnel(first);
  const viaSecond = await openTunnel(second);
  t.after(() => {
    viaFirst.destroy();
    viaSecond.destroy();
  });
  await echoes(viaFirst, 'one');
  await echoes(viaSecond, 'two');
  assert.equal(first.server.tunnels.size, 1);
  assert.equal(second.server.tunnels.size, 1);

  await within(first.close(), 10_000, 'the first server to close');
  await within(viaFirst.closed, 5000, "the first server's tunnel to be closed");
  await eventually(() => first.server.tunnels.size === 0, "the first server's tunnel to be released");

  // The second server's tunnel is untouched: still open, still carrying bytes both ways.
  assert.equal(viaSecond.ended, false);
  assert.equal(second.server.tunnels.size, 1);
  await echoes(viaSecond, 'still here');
});
