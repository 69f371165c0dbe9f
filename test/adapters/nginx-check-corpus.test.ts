/**
 * Issue 18 item 5: `portico check` on broken nginx.conf files says what `nginx -t` says: the same
 * exit status, the same line, and nginx's own words (its message without the "[emerg] pid#tid: "
 * prefix and " in FILE:LINE" suffix). The corpus covers the lexer (missing ";", quotes, braces,
 * end of file), block structure, `if` conditions and `${...}` in scripts. Then what `check`
 * refuses beyond `nginx -t` (a location left with nothing to do) and `--strict`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haveNginx, makePrefix, nginxTest } from '../helpers/nginx.js';
import { runCli } from '../helpers/cli.js';

const head = 'events {}\nhttp {\n  client_body_temp_path tmp/body;\n  proxy_temp_path tmp/proxy;\n';
/** A config whose server body starts on line 6. */
const server = (body: string) => `${head}  server {\n${body}\n  }\n}\n`;

/** [name, nginx.conf] — each one `nginx -t` refuses. */
const CORPUS: [string, string][] = [
  ['missing ";" before "}"', server('    listen 8080;\n    root /a\n')],
  ['missing ";" at the end of the file', `${head}  server { listen 8080; }\n}\nworker_processes 1`],
  ['a simple directive followed by "{"', server('    listen 8080;\n    root /a {\n    }')],
  ['a block directive ended by ";"', `${head}  server;\n}\n`],
  ['location without a block', server('    listen 8080;\n    location /a;')],
  ['an unclosed double quote', server('    listen 8080;\n    return 200 "abc;')],
  ['an unclosed single quote at the end of the file', `${head}  server {\n    return 200 'abc\n`],
  ['a character right after a closing quote', server('    listen 8080;\n    return 200 "abc"x;')],
  ['an extra "}"', `${head}  server { listen 8080; }\n}\n}\n`],
  ['an unclosed block', `${head}  server {\n    listen 8080;\n  }\n`],
  ['a lone ";"', `${head}  ;\n  server { listen 8080; }\n}\n`],
  ['a lone "{"', `${head}  {\n  }\n}\n`],
  ['a comment hiding the ";"', server('    listen 8080 # ;\n')],
  ['a "{" inside a map block', `${head}  map $uri $x {\n    default 1;\n  server { listen 8080; }\n}\n`],
  ['unknown directive', server('    lisen 8080;')],
  ['too many arguments', server('    listen 8080;\n    root /a /b;')],
  ['no argument', server('    listen 8080;\n    root;')],
  ['not allowed here', `${head}  listen 8080;\n}\n`],
  ['events twice', `events {}\n${head}  server { listen 8080; }\n}\n`],
  ['an upstream without servers', `${head}  upstream u { }\n  server { listen 8080; location / { proxy_pass http://u; } }\n}\n`],
  ['an unclosed "${"', server('    listen 8080;\n    return 200 ${uri;')],
  ['an unclosed "${" in add_header', server('    listen 8080;\n    add_header X-A "${host";')],
  ['if without parentheses', server('    listen 8080;\n    if $a { return 204; }')],
  ['if with an unknown operator', server('    listen 8080;\n    if ($a == b) { return 204; }')],
  ['if with an unknown variable', server('    listen 8080;\n    if ($nope) { return 204; }')],
  ['if comparing with an unknown variable', server('    listen 8080;\n    if ($host = $nope) { return 204; }')],
  ['limit_req on an undefined zone', server('    listen 8080;\n    location / { limit_req zone=nope; }')],
];

function nginxSays(output: string): { line: number | undefined; message: string } {
  const emerg = output.split('\n').find((l) => l.includes('[emerg]')) ?? '';
  const m = /\[emerg\] \d+#\d+: (.*?)(?: in \S+:(\d+))?$/.exec(emerg);
  return { message: m?.[1] ?? emerg, line: m?.[2] !== undefined ? Number(m[2]) : undefined };
}

test('portico check and nginx -t on broken configs: same exit status, same line, nginx\'s words', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  for (const [name, conf] of CORPUS) {
    await t.test(name, async () => {
      const prefix = await makePrefix({ 'nginx.conf': conf });
      try {
        const nginx = nginxTest(prefix);
        assert.equal(nginx.ok, false, `nginx -t accepted it:\n${nginx.output}`);
        const said = nginxSays(nginx.output);
        const r = await runCli(['check', '-c', prefix.conf]);
        assert.equal(r.code, 1, `portico check accepted it:\n${r.stdout}${r.stderr}`);
        const first = r.stderr.split('\n')[0]!;
        const m = /^(.*?):(\d+)(?::\d+)?: (.*)$/.exec(first);
        assert.ok(m, first);
        assert.equal(m[1], prefix.conf, first);
        if (said.line !== undefined) assert.equal(Number(m[2]), said.line, `nginx: ${said.message} (line ${said.line}); Portico: ${first}`);
        assert.equal(m[3], said.message, `line ${said.line}`);
      } finally {
        await prefix.remove();
      }
    });
  }
});

test('portico check refuses what nginx -t loads but Portico cannot carry over without leaving a location nothing to do', async (t) => {
  const prefix = await makePrefix({ 'nginx.conf': server('    listen 8080;\n    location / { return 204; }\n    location ~ \\.php$ {\n      fastcgi_pass 127.0.0.1:9000;\n    }') });
  t.after(() => prefix.remove());
  const r = await runCli(['check', '-c', prefix.conf]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nginx\.conf:9:7: "fastcgi_pass" cannot be carried over: .*left with nothing to do/);
});

test('portico check: a missing certificate or key file is an error at its line, as nginx -t finds', async (t) => {
  const prefix = await makePrefix({ 'nginx.conf': server('    listen 8443 ssl;\n    ssl_certificate missing.crt;\n    ssl_certificate_key missing.key;\n    location / { return 204; }') });
  t.after(() => prefix.remove());
  const r = await runCli(['check', '-c', prefix.conf]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0]!, /nginx\.conf:7:5: cannot load certificate ".*missing\.crt"/);
  assert.match(lines[1]!, /nginx\.conf:8:5: cannot load certificate key ".*missing\.key"/);
});

test('portico check --strict: every warning is an error; without it, each is printed and the config is valid', async (t) => {
  const prefix = await makePrefix({ 'nginx.conf': server('    listen 8080;\n    gunzip on;\n    location / { return 204; }') });
  t.after(() => prefix.remove());
  const loose = await runCli(['check', '-c', prefix.conf]);
  assert.equal(loose.code, 0, loose.stderr);
  assert.match(loose.stderr, /^warning: .*nginx\.conf:7:5: "gunzip" is not carried over/m);
  const strict = await runCli(['check', '--strict', '-c', prefix.conf]);
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /^error \(--strict\): .*nginx\.conf:7:5: "gunzip" is not carried over/m);
  assert.equal(strict.stdout, '');
});
