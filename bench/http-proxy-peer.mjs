// The Node peer for the benchmark: `http-proxy` with a keep-alive agent, one process.
// Usage: node bench/http-proxy-peer.mjs LISTEN_PORT ORIGIN_PORT
import http from 'node:http';
import httpProxy from 'http-proxy';

const [port, originPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${originPort}`, agent, xfwd: true });

proxy.on('error', (err, _req, res) => {
  // `res` is a ServerResponse here (no WebSocket in this benchmark).
  if (res && !res.headersSent && typeof res.writeHead === 'function') {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('bad gateway\n');
  } else if (res) res.destroy();
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
  process.exit(0);
});
