// The hook request buffering plugs into: a body buffered whole (UpstreamRequest.replayBody)
// may be sent again to the next server after a failed try consumed it; a streamed one never.
// Driven through the relay and a pool's balancer directly, since buffering itself is built elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { compile } from '../../src/compile/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { silentLog } from '../../src/log/error-log.js';
import { HostRegistry } from '../../src/upstream/host-state.js';
import { Exchange } from '../../src/http/exchange.js';
import { NodeH1Writer } from '../../src/http/node-writers.js';
import { Relay } from '../../src/proxy/relay.js';
import type { ProxyRoute } from '../../src/proxy/proxy-route.js';
import { GroupBalancer } from '../../src/proxy/group-balancer.js';
import { startUpstream } from '../helpers/upstream.js';
import { http, onRequestHeads, startRawUpstream } from '../proxy/support.js';

async function setup(t: { after(fn: () => Promise<unknown> | void): void }, replayable: boolean) {
  // Reads the request (head and the body already sent), then drops the connection unanswered.
  const sink = await startRawUpstream((socket) => onRequestHeads(socket, () => setImmediate(() => socket.resetAndDestroy())));
  const live = await startUpstream();
  const log = silentLog();
  const compiled = compile(
    validateConfig(
      {
        upstreams: { app: { servers: [sink.address, live.address], policy: 'first', max_fails: 0 } },
        servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }],
      },
      'replay.yaml',
    ),
    { log, upstream: { hosts: new HostRegistry() } },
  );
  const group = compiled.groups.get('app');
  const targets = group.members.map((u) => ({
    transport: u.transport,
    address: u.key,
    pool: compiled.pools.get(u.transport, { connectTimeout: 5000, keepAliveTimeout: 1000, maxConnections: 8 }),
    readTimeout: 5000,
    log,
  }));
  const route: ProxyRoute = { balancer: new GroupBalancer(group, targets, log), options: { buffering: null, sendTimeout: 0 }, log };
  // A front server that buffers the body whole, as request buffering will, then proxies it.
  const front = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const ex = new Exchange(req, new NodeH1Writer(res, false), req, req.socket, '127.0.0.1', '127.0.0.1', 'http', false, 0, req.headers.host ?? '', req.url!, req.url!, '');
      new Relay(ex, {
        method: req.method!,
        path: req.url!,
        headers: ['Host', req.headers.host ?? '', 'Content-Length', String(body.length)],
        body: Readable.from([body]),
        replayBody: replayable ? () => Readable.from([body]) : undefined,
        chunked: false,
        readTimeout: 5000,
      }, route).start();
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    front.closeAllConnections();
    await new Promise((r) => front.close(r));
    compiled.groups.close();
    compiled.pools.destroy();
    await sink.close();
    await live.close();
  });
  return { url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`, live };
}

test('a buffered body is replayed on the next server for an idempotent method after a failed try consumed it', async (t) => {
  const { url, live } = await setup(t, true);
  const body = 'x'.repeat(50_000);
  const r = await http(`${url}/doc`, { method: 'PUT', body });
  assert.equal(r.status, 200);
  assert.equal(live.seen[0]!.body.toString(), body);
  // Buffered or not, a POST is never sent twice.
  assert.equal((await http(`${url}/pay`, { method: 'POST', body: 'once' })).status, 502);
  assert.equal(live.seen.length, 1);
});

test('without replayBody the same PUT is not retried: 502', async (t) => {
  const { url, live } = await setup(t, false);
  assert.equal((await http(`${url}/doc`, { method: 'PUT', body: 'x'.repeat(50_000) })).status, 502);
  assert.equal(live.seen.length, 0);
});
