// Stickiness over real sockets: the cookie policy keeps a client on its server while the other
// servers restart and across a new Portico; ip_hash keeps each client address on one server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { startPortico } from '../helpers/portico.js';
import { http } from '../proxy/support.js';

interface Restartable {
  name: string;
  port: number;
  hits: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function restartable(name: string): Promise<Restartable> {
  let server: Server | undefined;
  const self: Restartable = {
    name,
    port: 0,
    hits: 0,
    async start() {
      server = createServer((req, res) => {
        if (req.headers['user-agent'] !== 'portico-health-check') self.hits++;
        res.setHeader('X-Upstream', name);
        res.end(name);
      });
      await new Promise<void>((resolve) => server!.listen(self.port, '127.0.0.1', resolve));
      self.port = (server.address() as { port: number }).port;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
        server = undefined;
      }),
  };
  await self.start();
  return self;
}

test('cookie stickiness survives the other servers\' restarts and a new Portico with the servers reordered', async (t) => {
  const servers = await Promise.all(['a', 'b', 'c'].map(restartable));
  t.after(() => Promise.all(servers.map((s) => s.stop())));
  const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
  const config = (list: string[]) => ({
    upstreams: { app: { servers: list, policy: { name: 'cookie' as const, secret: 'k' }, health_check: { path: '/', interval: '1h' } } },
    servers: [{ routes: [{ path: '/', proxy: { to: 'app' } }] }],
  });
  let portico = await startPortico(config(addresses));
  const first = await http(`${portico.url}/`);
  const home = String(first.headers['x-upstream']);
  const setCookie = first.headers['set-cookie']!;
  assert.equal(setCookie.length, 1);
  assert.match(setCookie[0]!, /^portico_lb=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax$/);
  const cookie = setCookie[0]!.split(';')[0]!;
  const others = servers.filter((s) => s.name !== home);

  for (const o of others) await o.stop();
  for (let i = 0; i < 5; i++) {
    const r = await http(`${portico.url}/`, { headers: { Cookie: cookie } });
    assert.equal(r.headers['x-upstream'], home);
    assert.equal(r.headers['set-cookie'], undefined, 'a valid cookie is not set again');
  }
  for (const o of others) await o.start();
  for (let i = 0; i < 5; i++) assert.equal((await http(`${portico.url}/`, { headers: { Cookie: cookie } })).headers['x-upstream'], home);

  await portico.close();
  portico = await startPortico(config([...addresses].reverse()));
  t.after(() => portico.close());
  for (let i = 0; i < 5; i++) assert.equal((await http(`${portico.url}/`, { headers: { Cookie: cookie } })).headers['x-upstream'], home);
  const homeServer = servers.find((s) => s.name === home)!;
  assert.equal(homeServer.hits, 16);
});

function getFrom(localAddress: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.headers['x-upstream'])));
    });
    req.on('error', reject);
    req.end();
  });
}

test('ip_hash keeps each client address on one server', async (t) => {
  const servers = await Promise.all(['a', 'b', 'c'].map(restartable));
  t.after(() => Promise.all(servers.map((s) => s.stop())));
  const portico = await startPortico({
    servers: [{ routes: [{ path: '/', proxy: { to: { servers: servers.map((s) => `127.0.0.1:${s.port}`), policy: 'ip_hash' } } }] }],
  });
  t.after(() => portico.close());
  for (const ip of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
    const first = await getFrom(ip, portico.port);
    for (let i = 0; i < 10; i++) assert.equal(await getFrom(ip, portico.port), first, ip);
  }
});
