// `npm start`'s example: the frontend and the API behind Portico on one origin (:8080).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const START = fileURLToPath(new URL('../../../examples/start.mjs', import.meta.url));

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
