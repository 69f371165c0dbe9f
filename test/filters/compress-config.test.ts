/**
 * The `compress` key: at server level for every route, a route's own replacing it, `false`
 * turning it off; errors at the line they are on; `portico check` saying which codings this
 * node has (zstd only from node 22.15).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startPortico } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { AVAILABLE_CODINGS } from '../../src/filters/compress-codings.js';
import { get } from './compress-support.js';

async function config(t: { after(fn: () => unknown): void }, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-compress-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'portico.yaml');
  await writeFile(file, text);
  return file;
}

test('portico check says which codings this node has when the config compresses, and which it asks for in vain', async (t) => {
  const file = await config(t, 'servers:\n  - listen: ":8080"\n    compress: { codings: [zstd, br, gzip] }\n    routes:\n      - path: /\n        respond: { body: hi }\n');
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  const zstd = AVAILABLE_CODINGS.includes('zstd');
  assert.match(r.stdout, new RegExp(`: compression codings in this node: ${AVAILABLE_CODINGS.join(', ')}${zstd ? '\\n' : ` \\(not zstd needs node >= 22\\.15 \\(this is v[\\d.]+\\): skipped\\)\\n`}`));
  const plain = await config(t, 'servers:\n  - listen: ":8080"\n    routes:\n      - path: /\n        respond: { body: hi }\n');
  const p = await runCli(['check', '-c', plain]);
  assert.equal(p.code, 0, p.stderr);
  assert.doesNotMatch(p.stdout, /compression/);
});

test('a bad compress key is an error at its line', async (t) => {
  const file = await config(t, 'servers:\n  - listen: ":8080"\n    routes:\n      - path: /\n        respond: { body: hi }\n        compress:\n          level: { gzip: 12 }\n          codings: [gzip, deflate]\n');
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /portico\.yaml:7:\d+: servers\[0\]\.routes\[0\]\.compress\.level\.gzip: /);
  assert.match(r.stderr, /portico\.yaml:8:\d+: servers\[0\]\.routes\[0\]\.compress\.codings\[1\]: /);
  const redos = await config(t, 'servers:\n  - listen: ":8080"\n    compress: { disable: ["(a|a)*\\\\1"] }\n    routes:\n      - path: /\n        respond: { body: hi }\n');
  const q = await runCli(['check', '-c', redos]);
  assert.equal(q.code, 1);
  assert.match(q.stderr, /portico\.yaml:3:\d+: servers\[0\]\.compress\.disable\[0\]: /);
});

test('server-level compress applies to every route; a route’s own replaces it; false turns it off', async (t) => {
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('plain text, long enough to be worth compressing. '.repeat(40));
  });
  t.after(() => upstream.close());
  const p = await startPortico({
    servers: [
      {
        compress: { codings: ['gzip'] },
        routes: [
          { path: '/inherits/', proxy: { to: upstream.address } },
          { path: '/own/', proxy: { to: upstream.address }, compress: { codings: ['br'], types: ['text/plain'] } },
          { path: '/off/', proxy: { to: upstream.address }, compress: false },
          { path: '/types/', proxy: { to: upstream.address }, compress: { types: ['text/html'] } },
        ],
      },
    ],
  });
  t.after(() => p.close());
  const ae = { 'accept-encoding': 'gzip, br' };
  assert.equal((await get(p.port, '/inherits/x', ae)).headers['content-encoding'], 'gzip');
  assert.equal((await get(p.port, '/own/x', ae)).headers['content-encoding'], 'br');
  const off = await get(p.port, '/off/x', ae);
  assert.equal(off.headers['content-encoding'], undefined);
  assert.equal(off.headers.vary, undefined);
  // The route's own options replace the server's whole: its types, and the default codings.
  const types = await get(p.port, '/types/x', ae);
  assert.equal(types.headers['content-encoding'], undefined, 'text/plain is not in this route’s types');
  assert.equal(types.headers.vary, undefined);
});
