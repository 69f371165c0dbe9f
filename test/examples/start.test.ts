// `npm start`'s example: the frontend and the API behind Portico on one origin (:8080).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

const START = fileURLToPath(new URL('../../../examples/start.mjs', import.meta.url));

/** Local addresses (kernel hex: 0100007F is 127.0.0.1) of the sockets listening on `port`, IPv4 and IPv6. */
function listenAddresses(port: number): string[] {
  const out = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'latin1').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A') continue; // LISTEN
      const [addr, hex] = f[1]!.split(':');
      if (parseInt(hex!, 16) === port) out.add(addr!);
    }
  }
  return [...out];
}

test('the bundled example serves the page and the API from one origin', async (t) => {
  const child = spawn(process.execPath, [START], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stderr.on('data', (c: Buffer) => (output += c));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`example did not start:\n${output}`)), 15_000);
    child.stdout.on('data', (c: Buffer) => {
      output += c;
      if (output.includes('Open http://localhost:8080/')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  // Loopback only: every socket listening on the example's ports is bound to 127.0.0.1.
  for (const port of [8080, 8000, 3000]) assert.deepEqual(listenAddresses(port), ['0100007F'], `port ${port} listens on loopback only`);
  assert.match(output, /serving http:\/\/127\.0\.0\.1:8080\//);
  const page = await fetch('http://localhost:8080/');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /One origin, two servers/);
  const login = await fetch('http://localhost:8080/api/login', { method: 'POST' });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const me = await fetch('http://localhost:8080/api/me', { headers: { cookie } });
  assert.deepEqual(await me.json(), { user: 'demo', visits: 1 });
  const who = (await (await fetch('http://localhost:8080/api/whoami')).json()) as Record<string, string>;
  assert.equal(who.host, 'localhost:8080');
  assert.equal(who.x_forwarded_host, 'localhost:8080');
  assert.equal(who.x_forwarded_proto, 'http');
  assert.equal((await fetch('http://localhost:8080/healthz')).status, 200);
  child.kill('SIGINT');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});
