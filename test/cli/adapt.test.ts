// `portico adapt`, and `run`/`check` on nginx.conf and Caddyfile: format by name, by content or
// --adapter; warnings on stderr; errors with file:line and exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli, startCli } from '../helpers/cli.js';
import { startUpstream } from '../helpers/upstream.js';
import { http } from '../proxy/support.js';
import { freePort } from '../helpers/django.js';

async function dir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'portico-adapt-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

const NGINX = `server {
    listen 127.0.0.1:8080;
    gunzip on;
    location /api/ {
        proxy_pass http://127.0.0.1:8000/;
    }
}
`;

test('adapt prints portico.yaml and a warning per thing left out', async (t) => {
  const d = await dir(t);
  const file = join(d, 'nginx.conf');
  await writeFile(file, NGINX);
  const r = await runCli(['adapt', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `warning: ${file}:3:5: "gunzip" is not carried over: Portico does not decompress responses for clients that do not take gzip\n`);
  assert.match(r.stdout, /^# Adapted by `portico adapt` from .*nginx\.conf \(nginx\)\.\n# warning: .*"gunzip" is not carried over/);
  assert.deepEqual(parse(r.stdout), {
    client: { max_body_size: '1m' }, // nginx's default, kept
    servers: [{ listen: ['127.0.0.1:8080'], routes: [{ path: '/api/', proxy: { to: '127.0.0.1:8000', upgrade: [], redirect: [{ from: 'http://127.0.0.1:8000/', to: '/api/' }], path_prefix: '/' }, request_headers: { set: { Host: '127.0.0.1:8000' } } }, { path: '/', files: { root: '/usr/share/nginx/html' } }] }],
  });
});

test('adapt: the format from the content, or forced with --adapter', async (t) => {
  const d = await dir(t);
  const caddy = join(d, 'site');
  await writeFile(caddy, ':8080 {\n  respond "hi"\n}\n');
  const r = await runCli(['adapt', '-c', caddy]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\(caddyfile\)/);
  const misnamed = join(d, 'caddy.conf');
  await writeFile(misnamed, ':8080 {\n  respond "hi"\n}\n');
  const wrong = await runCli(['adapt', '-c', misnamed]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /caddy\.conf:3:1: unexpected "}"/);
  const forced = await runCli(['adapt', '-c', misnamed, '--adapter', 'caddyfile']);
  assert.equal(forced.code, 0, forced.stderr);
  const bad = await runCli(['adapt', '-c', misnamed, '--adapter', 'apache']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--adapter must be nginx, caddyfile or yaml/);
  const none = await runCli(['adapt']);
  assert.equal(none.code, 2);
});

test('adapt: an invalid directive is an error with file and line, exit 1', async (t) => {
  const d = await dir(t);
  const file = join(d, 'Caddyfile');
  await writeFile(file, ':8080 {\n  reverse_proxi 127.0.0.1:8000\n}\n');
  const r = await runCli(['adapt', '-c', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `${file}:2: unrecognized directive: reverse_proxi\n`);
  assert.equal(r.stdout, '');
});

test('run -c nginx.conf and run -c Caddyfile serve', async (t) => {
  const upstream = await startUpstream((req, res) => res.end(`upstream saw ${req.url}`));
  t.after(() => upstream.close());
  const d = await dir(t);
  const nginx = join(d, 'nginx.conf');
  // nginx refuses port 0 (and so does the adapter): a port that was free a moment ago.
  await writeFile(nginx, `server {\n  listen 127.0.0.1:${await freePort()};\n  location /api/ { proxy_pass http://${upstream.address}/; }\n}\n`);
  const caddy = join(d, 'Caddyfile');
  await writeFile(caddy, `http://127.0.0.1:0 {\n  handle_path /api/* {\n    reverse_proxy ${upstream.address}\n  }\n}\n`);
  for (const file of [nginx, caddy]) {
    const p = await startCli(['run', '-c', file]);
    t.after(() => {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    });
    const res = await http(`http://127.0.0.1:${p.port}/api/users`);
    assert.equal(res.body.toString(), 'upstream saw /users', file);
    p.child.kill('SIGTERM');
  }
});
