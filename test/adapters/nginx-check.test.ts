/**
 * What `nginx -t` rejects, Portico rejects too, at the same file and line: each config below
 * is checked by the real nginx and by the adapter (in-process and through `portico check`).
 * Valid configs pass both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { haveNginx, makePrefix, nginxTest, TEMP_PATHS } from '../helpers/nginx.js';
import { runCli } from '../helpers/cli.js';
import { loadConfigFile } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

/** A full nginx.conf around server-level lines (line 1 is `events {}`; the server's body starts on line 5). */
const wrap = (server: string, http = '') => `events {}
http {
    include temp_paths.conf;${http}
    server {
${server}
    }
}
`;

interface Invalid {
  name: string;
  conf: string;
  /** Line nginx and Portico report. */
  line: number;
  /** What Portico's message says (nginx's wording). */
  message: RegExp;
  /** Extra files in the prefix. */
  files?: Record<string, string>;
  /** nginx finds some problems after reading the file and names no line for them. */
  nginxNoLine?: true;
}

const INVALID: Invalid[] = [
  { name: 'unknown directive', conf: wrap('        listen 8080;\n        proxy_pas http://127.0.0.1:1;'), line: 6, message: /unknown directive "proxy_pas"/ },
  { name: 'directive not allowed here', conf: wrap('        listen 8080;\n        proxy_pass http://127.0.0.1:1;'), line: 6, message: /"proxy_pass" directive is not allowed here/ },
  { name: 'wrong number of arguments', conf: wrap('        location / {\n            proxy_set_header Host;\n        }'), line: 6, message: /invalid number of arguments in "proxy_set_header" directive/ },
  { name: 'a flag that is not on/off', conf: wrap('        gzip yes;'), line: 5, message: /invalid value "yes" in "gzip" directive, it must be "on" or "off"/ },
  { name: 'duplicate root', conf: wrap('        location / {\n            root /a;\n            root /b;\n        }'), line: 7, message: /"root" directive is duplicate/ },
  { name: 'alias after root', conf: wrap('        location /x/ {\n            root /a;\n            alias /b/;\n        }'), line: 7, message: /"alias" directive is duplicate, "root" directive was specified earlier/ },
  { name: 'duplicate proxy_pass', conf: wrap('        location / {\n            proxy_pass http://127.0.0.1:1;\n            proxy_pass http://127.0.0.1:2;\n        }'), line: 7, message: /"proxy_pass" directive is duplicate/ },
  {
    name: 'proxy_pass with a URI in a regex location',
    conf: wrap('        location ~ \\.php$ {\n            proxy_pass http://127.0.0.1:1/x/;\n        }'),
    line: 6,
    message: /"proxy_pass" cannot have URI part in location given by regular expression/,
  },
  { name: 'invalid location modifier', conf: wrap('        location ~~ /x {\n        }'), line: 5, message: /invalid location modifier "~~"/ },
  { name: 'duplicate location', conf: wrap('        location /a/ { }\n        location /a/ { }'), line: 6, message: /duplicate location "\/a\/"/ },
  { name: 'unknown variable', conf: wrap('        location / {\n            proxy_set_header X-A $nope;\n            proxy_pass http://127.0.0.1:1;\n        }'), line: 6, message: /unknown "nope" variable/, nginxNoLine: true },
  { name: 'invalid return code', conf: wrap('        return abc;'), line: 5, message: /invalid return code "abc"/ },
  { name: 'invalid URL prefix', conf: wrap('        location / {\n            proxy_pass 127.0.0.1:8000;\n        }'), line: 6, message: /invalid URL prefix in "127\.0\.0\.1:8000"/ },
  { name: 'invalid listen parameter', conf: wrap('        listen 8080 fast;'), line: 5, message: /invalid parameter "fast"/ },
  { name: 'invalid listen port', conf: wrap('        listen 99999;'), line: 5, message: /invalid port in "99999" of the "listen" directive/ },
  { name: 'invalid rewrite flag', conf: wrap('        rewrite ^ /x always;'), line: 5, message: /invalid parameter "always"/ },
  { name: 'nested location outside its parent', conf: wrap('        location /a/ {\n            location /b/ { }\n        }'), line: 6, message: /location "\/b\/" is outside location "\/a\/"/ },
  { name: 'named location nested', conf: wrap('        location /a/ {\n            location @x { }\n        }'), line: 6, message: /named location "@x" can be on the server level only/ },
  { name: 'location inside an exact location', conf: wrap('        location = /a {\n            location /a/b { }\n        }'), line: 6, message: /cannot be inside the exact location/ },
  { name: 'missing semicolon before a brace', conf: wrap('        location / {\n            root /a\n        }'), line: 7, message: /unexpected "}"/ },
  { name: 'unexpected end of file', conf: 'events {}\nhttp {\n    server {\n', line: 4, message: /unexpected end of file/ },
  { name: 'duplicate upstream', conf: wrap('        listen 8080;', '\n    upstream u { server 127.0.0.1:1; }\n    upstream u { server 127.0.0.1:2; }'), line: 5, message: /duplicate upstream "u"/ },
  { name: 'upstream given a port', conf: wrap('        location / {\n            proxy_pass http://u:8080;\n        }', '\n    upstream u { server 127.0.0.1:1; }'), line: 7, message: /upstream "u" may not have port 8080/ },
  { name: 'invalid upstream server parameter', conf: wrap('        listen 8080;', '\n    upstream u { server 127.0.0.1:1 heavy=3; }'), line: 4, message: /invalid parameter "heavy=3"/ },
  {
    name: 'two default servers on one address',
    conf: 'events {}\nhttp {\n    include temp_paths.conf;\n    server { listen 127.0.0.1:8080 default_server; }\n    server { listen 127.0.0.1:8080 default_server; }\n}\n',
    line: 5,
    message: /a duplicate default server for 127\.0\.0\.1:8080/,
  },
  { name: 'include of a missing file', conf: wrap('        include missing.conf;'), line: 5, message: /open\(\) ".*missing\.conf" failed/ },
  { name: 'error in an included file names that file', conf: wrap('        include site.conf;'), line: 2, message: /site\.conf:2:\d+: unknown directive "lisen"/, files: { 'site.conf': 'listen 8080;\nlisen 8081;\n' } },
  { name: 'no events section', conf: 'http {\n    include temp_paths.conf;\n    server { listen 8080; }\n}\n', line: 1, message: /no "events" section in configuration/, nginxNoLine: true },
];

const VALID: { name: string; conf: string; files?: Record<string, string> }[] = [
  { name: 'proxy_params and mime.types from Debian', conf: wrap('        listen 8080;\n        include mime.types;\n        location / {\n            include proxy_params;\n            proxy_pass http://127.0.0.1:1;\n        }') },
  { name: 'modifiers glued to the name', conf: wrap('        location =/a { return 204; }\n        location ^~/b/ { return 204; }\n        location ~*\\.png$ { return 204; }') },
  { name: 'quotes and escapes', conf: wrap('        location / {\n            add_header X-A "a \\"quoted\\" value";\n            add_header \'X-B\' \'single\';\n            return 200 "line\\n";\n        }') },
  { name: 'glob includes, sorted, relative to the config directory', conf: wrap('        listen 8080;', '\n    include conf.d/*.conf;'), files: { 'conf.d/a.conf': 'map $uri $m { default 1; }\n', 'conf.d/b.conf': 'upstream b { server 127.0.0.1:1; }\n' } },
];

// nginx needs the real files; Portico is checked without them (its built-in copies).
const MIME = existsSync('/etc/nginx/mime.types') ? readFileSync('/etc/nginx/mime.types', 'utf8') : 'types { text/html html; }\n';
const PROXY_PARAMS = 'proxy_set_header Host $host;\n';

function nginxLine(output: string): number | undefined {
  const m = /:(\d+)\s*$/m.exec(output.split('\n').find((l) => l.includes('[emerg]')) ?? '');
  return m ? Number(m[1]) : undefined;
}

async function porticoErrors(conf: string): Promise<string[]> {
  try {
    await loadConfigFile(conf);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  return [];
}

test('nginx -t and portico reject the same configs at the same line', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  for (const c of INVALID) {
    await t.test(c.name, async () => {
      const prefix = await makePrefix({ 'nginx.conf': c.conf, 'temp_paths.conf': TEMP_PATHS, ...c.files });
      try {
        const nginx = nginxTest(prefix);
        assert.equal(nginx.ok, false, `nginx -t accepted it:\n${nginx.output}`);
        const problems = await porticoErrors(prefix.conf);
        assert.ok(problems.length > 0, 'Portico accepted it');
        const first = problems[0]!;
        assert.match(first, c.message);
        const [, file, line] = /^(.*?):(\d+)(?::\d+)?: /.exec(first) ?? [];
        assert.equal(Number(line), c.line, first);
        assert.equal(nginxLine(nginx.output), c.nginxNoLine ? undefined : c.line, nginx.output);
        if (!c.files) assert.equal(file, prefix.conf);
      } finally {
        await prefix.remove();
      }
    });
  }
  for (const c of VALID) {
    await t.test(`valid: ${c.name}`, async () => {
      const prefix = await makePrefix({ 'nginx.conf': c.conf, 'temp_paths.conf': TEMP_PATHS, 'mime.types': MIME, 'proxy_params': PROXY_PARAMS, ...c.files });
      try {
        const nginx = nginxTest(prefix);
        assert.equal(nginx.ok, true, nginx.output);
        assert.deepEqual(await porticoErrors(prefix.conf), []);
      } finally {
        await prefix.remove();
      }
    });
  }
});


test('portico check -c nginx.conf: an invalid directive is reported with file and line, exit 1', async (t) => {
  const prefix = await makePrefix({ 'nginx.conf': wrap('        listen 8080;\n        location / {\n            proxy_pass http://127.0.0.1:1;\n            proxy_buffring off;\n        }'), 'temp_paths.conf': TEMP_PATHS });
  t.after(() => prefix.remove());
  const r = await runCli(['check', '-c', prefix.conf]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `${prefix.conf}:8:13: unknown directive "proxy_buffring"`);
  assert.equal(r.stdout, '');
});

test('portico check: a valid nginx.conf is valid, with warnings for what is not carried over', async (t) => {
  const prefix = await makePrefix({ 'nginx.conf': wrap('        listen 8080;\n        gunzip on;\n        location / {\n            proxy_pass http://127.0.0.1:1;\n        }'), 'temp_paths.conf': TEMP_PATHS });
  t.after(() => prefix.remove());
  const r = await runCli(['check', '-c', prefix.conf]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configuration is valid/);
  assert.match(r.stderr, new RegExp(`warning: ${prefix.conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6:9: "gunzip" is not carried over: Portico does not decompress responses`));
});

test("Debian's own /etc/nginx/nginx.conf loads (with its sites-enabled)", { skip: !existsSync('/etc/nginx/nginx.conf') && 'no /etc/nginx' }, async () => {
  const loaded = await loadConfigFile('/etc/nginx/nginx.conf');
  assert.equal(loaded.format, 'nginx');
  assert.ok(loaded.config.servers.length >= 1);
});
