// A tiny stand-in for Django on 127.0.0.1:8000: a cookie session, a CSRF-style check,
// a view showing what the proxy forwarded, and a WebSocket echo at /api/ws.
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

const port = Number(process.env.API_PORT ?? 8000);
const sessions = new Map();

function cookies(req) {
  return Object.fromEntries((req.headers.cookie ?? '').split(';').filter(Boolean).map((c) => c.trim().split('=')));
}

function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const jar = cookies(req);
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/api/hello') return json(res, 200, { hello: 'from the API', time: new Date().toISOString() });
  if (url.pathname === '/api/whoami')
    return json(res, 200, {
      remote_addr: req.socket.remoteAddress,
      host: req.headers.host,
      x_real_ip: req.headers['x-real-ip'],
      x_forwarded_for: req.headers['x-forwarded-for'],
      x_forwarded_proto: req.headers['x-forwarded-proto'],
      x_forwarded_host: req.headers['x-forwarded-host'],
    });
  if (url.pathname === '/api/login' && req.method === 'POST') {
    const token = randomBytes(12).toString('hex');
    sessions.set(token, { visits: 0 });
    return json(res, 200, { ok: true }, { 'Set-Cookie': `sessionid=${token}; Path=/; HttpOnly; SameSite=Lax` });
  }
  if (url.pathname === '/api/me') {
    const session = sessions.get(jar.sessionid);
    if (!session) return json(res, 401, { user: null });
    session.visits++;
    return json(res, 200, { user: 'demo', visits: session.visits });
  }
  if (url.pathname.startsWith('/admin/')) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    return res.end('<h1>admin (served by the API)</h1>');
  }
  json(res, 404, { error: 'not found' });
});

// Minimal RFC 6455 echo: enough to show that upgrades pass through the proxy.
server.on('upgrade', (req, socket) => {
  if (req.url !== '/api/ws') return socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.on('error', () => socket.destroy());
  socket.on('data', (frame) => {
    const opcode = frame[0] & 0x0f;
    if (opcode === 0x8) return socket.end();
    let len = frame[1] & 0x7f;
    let offset = 2;
    if (len === 126) {
      len = frame.readUInt16BE(2);
      offset = 4;
    }
    const mask = frame.subarray(offset, offset + 4);
    const payload = Buffer.from(frame.subarray(offset + 4, offset + 4 + len).map((b, i) => b ^ mask[i % 4]));
    const text = Buffer.from(`echo: ${payload.toString()}`);
    socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
  });
});

server.listen(port, '127.0.0.1', () => console.log(`api: http://127.0.0.1:${port}`));
