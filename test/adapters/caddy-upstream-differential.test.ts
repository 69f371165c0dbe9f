/**
 * Caddy's own adapter tests that can be served (test/adapters/caddyfile/upstream/), side by side:
 * each fixture runs in real Caddy (Debian's 2.6) and in Portico, on a few requests
 * (test/adapters/differential.ts). The only edits: the site address `:80` becomes a free port,
 * and a global block turns off Caddy's admin endpoint and automatic HTTPS. matcher_syntax's last
 * matcher (`client_ip`, which Caddy 2.6 does not have) is left out for both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/django.js';
import { haveCaddy, startCaddy } from '../helpers/caddy.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { assertSame, observe, type Case } from './differential.js';

const DIR = fileURLToPath(new URL('../../../test/adapters/caddyfile/upstream/', import.meta.url));

const WHY_REPEATED = "Caddy 2.6 keeps only the last `expression` of a matcher; Caddy since 2.7 ANDs them, as the fixture's JSON (from the current Caddy) shows, and Portico does the same";

const FIXTURES: { name: string; edit?: (text: string) => string; cases: Case[] }[] = [
  {
    name: 'matcher_syntax',
    edit: (t) => t.replace(/\n\t@matcher12 client_ip private_ranges\n\trespond @matcher12 "[^"]*"\n/, '\n'),
    cases: [
      { name: 'method GET', path: '/x' },
      { name: 'method POST', method: 'POST', path: '/x', body: '' },
      { name: 'not method PUT', method: 'DELETE', path: '/x' },
      { name: 'vars on {http.request.uri}', method: 'PUT', path: '/vars-matcher', body: '' },
      { name: 'vars_regexp on {http.request.uri}', method: 'PUT', path: '/app.abcdef.css', body: '' },
      { name: 'headers merged by field', method: 'PUT', path: '/h', headers: [['Foo', 'foobar'], ['Bar', 'foo']], body: '' },
      { name: 'query pairs merged by key', method: 'PUT', path: '/q?foo=baz&bar=baz', body: '' },
      { name: 'header !Foo with Bar', method: 'PUT', path: '/h', headers: [['Bar', 'foo']], body: '' },
      { name: 'remote_ip private_ranges', method: 'PUT', path: '/last', body: '' },
    ],
  },
  {
    name: 'expression_repeated',
    cases: [
      { name: 'both expressions hold', path: '/public/a' },
      {
        name: 'not { key && remote_host }: no key, blocked',
        path: '/private',
        differs: [
          { field: 'status', caddy: 200, portico: 403, why: WHY_REPEATED },
          { field: 'body', caddy: '', portico: undefined, why: 'Portico does not compare the body of its own error page' },
        ],
      },
      { name: 'with the key from 127.0.0.1: not blocked', path: '/private', headers: [['X-Api-Key', 'secret']] },
      {
        name: 'POST to /public/ is not @public',
        method: 'POST',
        path: '/public/a',
        body: '',
        headers: [['X-Api-Key', 'secret']],
        differs: [
          { field: 'body', caddy: 'public', portico: '', why: WHY_REPEATED },
          { field: 'header.content-type', caddy: 'text/plain; charset=utf-8', portico: undefined, why: WHY_REPEATED },
        ],
      },
    ],
  },
  { name: 'handle_path', cases: [{ name: 'inside', path: '/api/v1/users' }, { name: 'outside', path: '/api/v2' }] },
  {
    name: 'handle_path_sorting',
    cases: [
      { name: 'handle /api/*', path: '/api/x' },
      { name: 'handle_path /static/*', path: '/static/x' },
      { name: 'the catch-all handle', path: '/other' },
    ],
  },
  { name: 'http_only_on_any_address', cases: [{ name: 'respond with a body block', path: '/version' }, { name: 'elsewhere: empty 200', path: '/' }] },
];

function serve(text: string, port: number): string {
  const body = text.replace(/^:80\b/m, `:${port}`);
  assert.notEqual(body, text, 'the fixture has a :80 site');
  return `{\n\tadmin off\n\tauto_https off\n}\n${body}`;
}

for (const f of FIXTURES) {
  test(`Caddy's ${f.name} in Caddy and in Portico`, { skip: !haveCaddy() && 'caddy is not installed' }, async (t) => {
    const original = await readFile(join(DIR, `${f.name}.caddyfile`), 'utf8');
    const text = f.edit ? f.edit(original) : original;
    const dir = await mkdtemp(join(tmpdir(), 'portico-caddy-upstream-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const [caddyPort, porticoPort] = [await freePort(), await freePort()];
    await writeFile(join(dir, 'Caddyfile'), serve(text, caddyPort));
    await writeFile(join(dir, 'portico.Caddyfile'), serve(text, porticoPort));
    const caddy = await startCaddy(join(dir, 'Caddyfile'), dir, caddyPort);
    t.after(() => caddy.close());
    const loaded = await loadConfigFile(join(dir, 'portico.Caddyfile'));
    assert.deepEqual(loaded.warnings, []);
    const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
    t.after(() => portico.close());
    const none: never[] = [];
    for (const [i, c] of f.cases.entries()) {
      await t.test(c.name, async () => {
        const x = await observe(caddyPort, c, `c${i}`, none);
        const y = await observe(porticoPort, c, `p${i}`, none);
        assertSame(c, x, y);
      });
    }
  });
}
