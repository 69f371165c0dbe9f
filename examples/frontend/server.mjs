// A stand-in for a frontend dev server on 127.0.0.1:3000: serves index.html.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const port = Number(process.env.FRONTEND_PORT ?? 3000);
const page = readFileSync(new URL('./index.html', import.meta.url));

createServer((req, res) => {
  if (req.url === '/' || req.url === '/index.html') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    return res.end(page);
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
}).listen(port, '127.0.0.1', () => console.log(`frontend: http://127.0.0.1:${port}`));
