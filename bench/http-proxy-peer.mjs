// The Node peer for the benchmark: `http-proxy` with a keep-alive agent, one process.
// /ws/ upgrades go to the WebSocket origin through a second proxy (ws: true, no agent).
// Usage: node bench/http-proxy-peer.mjs LISTEN_PORT ORIGIN_PORT WS_ORIGIN_PORT
import http from 'node:http';
import httpProxy from 'http-proxy';

const [port, originPort, wsPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${originPort}`, agent, xfwd: true });
const wsProxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${wsPort}`, ws: true, xfwd: true });

proxy.on('error', (err, _req, res) => {
  if (res && !res.headersSent && typeof res.writeHead === 'function') {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('bad gateway\n');
  } else if (res) res.destroy();
});
// For a WebSocket the third argument is the client socket.
wsProxy.on('error', (_err, _req, socket) => socket?.destroy());

const server = http.createServer((req, res) => proxy.web(req, res));
// Node's default keep-alive timeout is 5 s; the others keep idle clients 75 s (nginx, Portico)
// or longer (Caddy), and scenario (m1) holds idle connections for longer than 5 s.
server.keepAliveTimeout = 75_000;
server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  if (req.url.startsWith('/ws/')) wsProxy.ws(req, socket, head);
  else socket.destroy();
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
  process.exit(0);
});
