// The two lexers/parsers on their own: nginx's token rules and includes, Caddy's tokens,
// snippets and imports, and how a config's format is told.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenize as nginxTokens } from '../../src/config/adapters/nginx/lexer.js';
import { parseText, type Directive } from '../../src/config/adapters/nginx/parser.js';
import { tokenize as caddyTokens } from '../../src/config/adapters/caddyfile/lexer.js';
import { parseCaddyfile } from '../../src/config/adapters/caddyfile/parser.js';
import { detectFormat } from '../../src/config/adapters/adapter.js';
import { nonCapturing } from '../../src/config/adapters/nginx/locations.js';

const words = (text: string) => {
  const t = nginxTokens(text, 'x.conf');
  assert.ok(Array.isArray(t), JSON.stringify(t));
  return t.filter((k) => k.kind !== 'eof').map((k) => (k.kind === 'word' ? k.text : k.kind));
};

test('nginx tokens: quotes, escapes, comments, variables', () => {
  assert.deepEqual(words('add_header X-A "a \\"b\\" c";'), ['add_header', 'X-A', 'a "b" c', ';']);
  assert.deepEqual(words("return 200 'x \\'y\\'';"), ['return', '200', "x 'y'", ';']);
  assert.deepEqual(words('return 200 "a\\nb";'), ['return', '200', 'a\nb', ';']);
  assert.deepEqual(words('location ~ \\.php$ { }'), ['location', '~', '\\.php$', '{', '}']);
  assert.deepEqual(words('set $a ${b}c; # comment\nx#y;'), ['set', '$a', '${b}c', ';', 'x#y', ';']);
  // nginx keeps a backslash it has no meaning for (ngx_conf_read_token's copy loop).
  assert.deepEqual(words('a b\\ c;'), ['a', 'b\\ c', ';']);
  assert.deepEqual(words('a}b;'), ['a}b', ';']);
  const bad = nginxTokens('add_header X "a"b;', 'x.conf');
  assert.ok(!Array.isArray(bad) && /unexpected "b"/.test(bad.message));
});

test('nginx parser: blocks, line numbers, and errors', () => {
  const dirs = parseText('http {\n  server {\n    listen 80;\n  }\n}\n', 'n.conf', { confDir: '/' }) as Directive[];
  assert.equal(dirs[0]!.name, 'http');
  const listen = dirs[0]!.block![0]!.block![0]!;
  assert.deepEqual([listen.name, listen.args, listen.line, listen.col], ['listen', ['80'], 3, 5]);
  const eof = parseText('http {\n', 'n.conf', { confDir: '/' });
  assert.ok(!Array.isArray(eof) && /unexpected end of file/.test(eof.message));
  const stray = parseText('}\n', 'n.conf', { confDir: '/' });
  assert.ok(!Array.isArray(stray) && stray.message === 'unexpected "}"');
});

test('nginx includes: globs sorted relative to the config directory, built-in proxy_params and mime.types', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-inc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'sites-enabled'));
  await writeFile(join(dir, 'sites-enabled', 'b'), 'server { listen 2; }\n');
  await writeFile(join(dir, 'sites-enabled', 'a'), 'server { listen 1; }\n');
  await writeFile(join(dir, 'sites-enabled', '.hidden'), 'server { listen 3; }\n');
  const dirs = parseText('include sites-enabled/*;\ninclude proxy_params;\ninclude mime.types;\ninclude none/*.conf;\n', join(dir, 'nginx.conf'), { confDir: dir }) as Directive[];
  assert.deepEqual(
    dirs.filter((d) => d.name === 'server').map((d) => d.block![0]!.args[0]),
    ['1', '2'],
  );
  assert.equal(dirs.filter((d) => d.name === 'proxy_set_header').length, 4);
  assert.equal(dirs.find((d) => d.name === 'proxy_set_header')!.file, 'proxy_params (built in)');
  assert.ok(dirs.some((d) => d.name === 'types'));
  const missing = parseText('include nope.conf;\n', join(dir, 'nginx.conf'), { confDir: dir });
  assert.ok(!Array.isArray(missing) && /open\(\) ".*nope\.conf" failed \(ENOENT\)/.test(missing.message));
});

test('nonCapturing keeps a regex the same but numbers no groups', () => {
  assert.equal(nonCapturing('^/(a|b)/(?<id>\\d+)[(]\\(x\\)'), '^/(?:a|b)/(?:\\d+)[(]\\(x\\)');
  assert.equal(nonCapturing('(x)\\1'), undefined);
});

test('Caddyfile tokens: quotes, backticks, heredocs, comments, env', () => {
  const t = caddyTokens('respond "a \\"q\\" b" `raw "x"` # c\nheader X <<EOF\n  one\n  two\n  EOF\nlast', 'C');
  assert.ok(Array.isArray(t));
  assert.deepEqual(
    t.map((k) => [k.text, k.line]),
    [['respond', 1], ['a "q" b', 1], ['raw "x"', 1], ['header', 2], ['X', 2], ['one\ntwo', 2], ['last', 6]],
  );
  const parsed = parseCaddyfile(':{$P:8080} {\n  respond {$MSG}\n}\n', 'C', { MSG: 'hi' });
  assert.ok(!('message' in parsed));
  assert.equal(parsed.sites[0]!.keys[0]!.text, ':8080');
  assert.equal(parsed.sites[0]!.directives[0]!.args[0]!.text, 'hi');
});

test('Caddyfile structure: global options, snippets with args, several sites, imports of files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-caddy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'common.caddy'), 'header X-Common yes\n');
  const text = '{\n  debug\n}\n(snip) {\n  respond {args[0]} {args.1}\n}\na.example, b.example {\n  import snip hello 201\n  import common.caddy\n}\n:9000 {\n  respond ok\n}\n';
  const parsed = parseCaddyfile(text, join(dir, 'Caddyfile'), {});
  assert.ok(!('message' in parsed), JSON.stringify(parsed));
  assert.deepEqual(parsed.global!.map((d) => d.name), ['debug']);
  assert.deepEqual(parsed.sites.map((s) => s.keys.map((k) => k.text)), [['a.example', 'b.example'], [':9000']]);
  const site = parsed.sites[0]!.directives;
  assert.deepEqual(site.map((d) => [d.name, d.args.map((a) => a.text)]), [['respond', ['hello', '201']], ['header', ['X-Common', 'yes']]]);
});

test('format detection: by file name, then by content', () => {
  assert.equal(detectFormat('/etc/nginx/nginx.conf', ''), 'nginx');
  assert.equal(detectFormat('site.conf', ''), 'nginx');
  assert.equal(detectFormat('Caddyfile', ''), 'caddyfile');
  assert.equal(detectFormat('prod.Caddyfile', ''), 'caddyfile');
  assert.equal(detectFormat('portico.yaml', 'server {}'), 'yaml');
  assert.equal(detectFormat('default', 'server {\n  listen 80;\n  location / { proxy_pass http://a; }\n}\n'), 'nginx');
  assert.equal(detectFormat('default', '# a comment\nupstream app { server 127.0.0.1:1; }\n'), 'nginx');
  assert.equal(detectFormat('site', 'localhost:8080 {\n  reverse_proxy localhost:8000\n}\n'), 'caddyfile');
  assert.equal(detectFormat('conf', 'servers:\n  - routes: []\n'), 'yaml');
});
