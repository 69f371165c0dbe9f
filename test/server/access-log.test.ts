// The access log has one line per request, including the ones Portico refuses before routing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortico } from '../helpers/portico.js';
import { rawRequest } from '../proxy/support.js';

test('served and refused requests each get a combined-format line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-access-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'access.log');
  const portico = await startPortico({
    access_log: { format: 'combined', output: file },
    servers: [{ routes: [{ path: '/', respond: { body: 'hi' } }] }],
  });
  assert.equal((await rawRequest(portico.port, 'GET /ok HTTP/1.1\r\nHost: a\r\nUser-Agent: t/1\r\n\r\n')).status, 200);
  assert.equal((await rawRequest(portico.port, 'GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n')).status, 400);
  await portico.close(); // flushes the log
  // A line is written when its response has gone out; two connections may finish in either order.
  const lines = (await readFile(file, 'utf8')).trim().split('\n').sort((a, b) => Number(a.includes('/../')) - Number(b.includes('/../')));
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0]!, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ok HTTP\/1\.1" 200 2 "-" "t\/1"$/);
  assert.match(lines[1]!, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/\.\.\/etc\/passwd HTTP\/1\.1" 400 \d+ "-" "-"$/);
});
