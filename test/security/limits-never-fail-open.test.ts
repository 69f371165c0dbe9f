/**
 * Issue 12, item 12: a limit or an access check in an nginx.conf or a Caddyfile is carried over
 * or the config is refused at its file:line - never left out with a warning, which would let
 * through every request nginx or Caddy refuses. Each case below is a config nginx accepts
 * (`nginx -t`, run on it where nginx is installed) and Portico must refuse; a few neighbours
 * that turn the feature off, or drop only something harmless, must still load.
 * The side-by-side behaviour of what is carried over is in test/adapters/nginx-limits-differential
 * and caddy-guards-differential.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adaptNginx } from '../../src/config/adapters/nginx/index.js';
import { adaptCaddyfile } from '../../src/config/adapters/caddyfile/index.js';
import { ConfigError } from '../../src/errors.js';
import { haveNginx, makePrefix, nginxTest, TEMP_PATHS } from '../helpers/nginx.js';

interface Case {
  name: string;
  /** Directives inside `http` (before the server), `server` and `location /`. */
  http?: string;
  server?: string;
  location?: string;
  /** The message Portico must give (after "nginx.conf:LINE:COL: "); undefined: must load. */
  refused?: RegExp;
  /** nginx -t cannot check it here (needs certificates). */
  noNginxTest?: boolean;
  /** nginx -t refuses it too. */
  nginxRefuses?: boolean;
  /** Settings the adapted route of `location /` carries. */
  route?: Record<string, unknown>;
}

const NGINX: Case[] = [
  { name: 'a zone keyed on a variable Portico cannot compute', http: 'limit_req_zone $remote_user zone=u:1m rate=1r/s;', location: 'limit_req zone=u;', refused: /limit_req_zone key "\$remote_user": Portico cannot compute \$remote_user, so this limit cannot be applied/ },
  {
    name: 'a zone keyed on a map Portico cannot compute',
    http: 'map $tcpinfo_rtt $who { default $tcpinfo_rtt; }\nlimit_req_zone $who zone=w:1m rate=1r/s;',
    location: 'limit_req zone=w;',
    refused: /limit_req_zone key "\$who": Portico cannot compute \$who, a map Portico cannot compute/,
  },
  { name: 'a limit_conn zone keyed on a `set` variable', http: 'limit_conn_zone $k zone=k:1m;', server: 'set $k $arg_a;', location: 'limit_conn k 1;', refused: /limit_conn_zone key "\$k": Portico cannot compute \$k/ },
  { name: 'a zone that is not defined', location: 'limit_req zone=nowhere;', refused: /zero size shared memory zone "nowhere"/, nginxRefuses: true },
  { name: 'deny inside if (nginx refuses it too)', location: 'if ($arg_x) { deny all; }', refused: /"deny" directive is not allowed here/, nginxRefuses: true },
  { name: 'valid_referers + if ($invalid_referer) return 403', location: 'valid_referers none server_names;\nif ($invalid_referer) { return 403; }', refused: /"if \(\$invalid_referer\)" cannot be carried over/ },
  { name: 'an if on a variable Portico cannot compute', location: 'if ($tcpinfo_rtt) { return 403; }', refused: /"if \(\$tcpinfo_rtt\)" cannot be carried over: Portico cannot compute \$tcpinfo_rtt/ },
  { name: 'set from a variable Portico cannot compute', location: 'set $rtt $tcpinfo_rtt;\nif ($rtt) { return 403; }', refused: /"set \$rtt" cannot be carried over: Portico cannot compute \$tcpinfo_rtt/ },
  // Carried over (test/security/if-carried-exactly.test.ts shows they answer as nginx does).
  { name: 'if ... return 403', location: 'if ($arg_x) { return 403; }' },
  { name: 'if ... return 444 at server level', server: 'if ($http_user_agent ~* bot) { return 444; }' },
  { name: 'if ... rewrite to a denied location', location: 'if ($arg_debug) { rewrite ^ /denied last; }' },
  { name: 'auth_request', location: 'auth_request /auth;', refused: /"auth_request" cannot be carried over: subrequest authentication is not supported/ },
  { name: 'secure_link', location: 'secure_link $arg_md5,$arg_expires;', refused: /"secure_link" cannot be carried over/ },
  { name: 'ssl_ocsp on (client certificates checked by OCSP)', server: 'ssl_ocsp on;', refused: /"ssl_ocsp" cannot be carried over/, noNginxTest: true },
  // Carried over (test/security/client-certificates.test.ts); on a plain listener nginx ignores it too.
  { name: 'ssl_verify_client on', server: 'ssl_verify_client on;', noNginxTest: true },
  { name: 'set $limit_rate from a variable Portico cannot compute', location: 'set $limit_rate $tcpinfo_rtt;', refused: /"set \$limit_rate" cannot be carried over: Portico cannot compute \$tcpinfo_rtt/ },
  { name: 'limit_rate from a variable Portico cannot compute', location: 'limit_rate $tcpinfo_rtt;', refused: /"limit_rate" cannot be carried over: Portico cannot compute \$tcpinfo_rtt/ },
  { name: 'set $limit_rate in a server (applied by a route only)', server: 'set $limit_rate 10k;', refused: /"set \$limit_rate" cannot be carried over in a server block/ },
  { name: 'proxy_limit_rate', location: 'proxy_limit_rate 100k;', refused: /"proxy_limit_rate" cannot be carried over/ },
  // Carried over: the other methods are a route variant proxying there (test/adapters/nginx-vars-differential.test.ts).
  { name: 'limit_except holding proxy_pass', location: 'limit_except GET { proxy_pass http://127.0.0.1:9; }' },
  { name: 'a shorter keepalive_timeout in a location', http: 'keepalive_timeout 60s;', location: 'keepalive_timeout 5s;', refused: /keepalive_timeout 5s per server or location cannot be carried over/ },
  // Carried over as the route's own body_timeout / send_timeout (checked below).
  { name: 'a shorter client_body_timeout in a location', http: 'client_body_timeout 60s;', location: 'client_body_timeout 5s;', route: { body_timeout: '5s' } },
  { name: 'a shorter send_timeout in a server than nginx\'s default', server: 'send_timeout 10s;', route: { send_timeout: '10s' } },
  // Carried over as the route's limit_rate (test/filters/limit-rate.test.ts, test/adapters/nginx-limit-rate-differential.test.ts).
  { name: 'limit_rate', location: 'limit_rate 100k;\nlimit_rate_after 1m;', route: { limit_rate: { rate: 102400, after: 1048576 } } },
  { name: 'limit_rate from variables', location: 'limit_rate $arg_rate;', route: { limit_rate: { rate: '{arg.rate}', after: 0 } } },
  // Turned off, or harmless to drop: loads.
  { name: 'auth_request off', location: 'auth_request off;' },
  { name: 'limit_rate 0', location: 'limit_rate 0;' },
  { name: 'ssl_verify_client off', server: 'ssl_verify_client off;', noNginxTest: true },
  { name: 'if holding only add_header', location: 'if ($arg_x) { add_header X-X 1; }' },
  { name: 'a longer client_body_timeout in a location (the shorter global one applies)', location: 'client_body_timeout 300s;' },
];

function nginxConf(c: Case): string {
  return `events {}
http {
    include temp_paths.conf;
    ${c.http ?? ''}
    server {
        listen 127.0.0.1:1;
        server_name app.test;
        ${c.server ?? ''}
        location / {
            ${c.location ?? ''}
            proxy_pass http://127.0.0.1:9;
        }
        location = /auth { return 204; }
        location = /denied { return 403; }
    }
}
`;
}

function problems(run: () => unknown): readonly string[] {
  try {
    run();
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

for (const c of NGINX) {
  test(`nginx: ${c.name}: ${c.refused ? 'refused at its file:line' : 'loads'}`, async () => {
    const text = nginxConf(c).replace('include temp_paths.conf;', '');
    const found = problems(() => adaptNginx(text, 'nginx.conf'));
    if (c.refused) {
      const hit = found.find((p) => c.refused!.test(p));
      assert.ok(hit, `expected a refusal matching ${c.refused}, got ${JSON.stringify(found)}`);
      assert.match(hit, /^nginx\.conf:\d+(:\d+)?: /);
      const line = Number(/^nginx\.conf:(\d+)/.exec(hit)![1]);
      assert.ok(line > 1 && line <= text.split('\n').length, `line ${line} is in the file`);
    } else {
      assert.deepEqual(found, []);
      if (c.route) {
        const route = ((adaptNginx(text, 'nginx.conf').config.servers as { routes: Record<string, unknown>[] }[])[0]!.routes[0])!;
        for (const [k, v] of Object.entries(c.route)) assert.deepEqual(route[k], v, k);
      }
    }
    // nginx -t on the same config accepts it (the refusal is Portico's own), unless marked.
    if (!c.noNginxTest && haveNginx()) {
      const prefix = await makePrefix({ 'nginx.conf': nginxConf(c), 'temp_paths.conf': TEMP_PATHS });
      try {
        const r = nginxTest(prefix);
        assert.equal(r.ok, !c.nginxRefuses, r.output);
      } finally {
        await prefix.remove();
      }
    }
  });
}

interface CaddyCase {
  name: string;
  site: string;
  global?: string;
  refused?: RegExp;
  /** Loads, with this warning. */
  warned?: RegExp;
  /** Loads, and the guarding route (the first) checks this `match`. */
  carried?: Record<string, unknown>;
}

const HASH = '$2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG';

const CADDY: CaddyCase[] = [
  { name: 'forward_auth', site: 'forward_auth 127.0.0.1:9 {\n    uri /auth\n}\nreverse_proxy 127.0.0.1:9', refused: /forward_auth cannot be carried over/ },
  // Matchers Portico cannot check still refuse what they guard (issue 18 item 6 carried the others over).
  { name: 'respond 403 on a file matcher', site: '@missing not file\nrespond @missing 403\nreverse_proxy 127.0.0.1:9', refused: /matcher @missing: Portico cannot check "not file"; leaving this respond out/ },
  { name: 'abort on an expression Portico cannot read', site: '@odd expression `{time.now.unix} > 5`\nabort @odd\nreverse_proxy 127.0.0.1:9', refused: /matcher @odd: Portico cannot check "expression .*"; leaving this abort out/ },
  { name: 'basic_auth on a vars matcher of a variable', site: `@v vars tier gold\nbasic_auth @v {\n    alice ${HASH}\n}\nreverse_proxy 127.0.0.1:9`, refused: /matcher @v: Portico cannot check "vars tier gold"; leaving this basic_auth out/ },
  { name: 'a handle holding a refusal, on a tls matcher', site: '@early tls early_data\nhandle @early {\n    respond 425\n}\nreverse_proxy 127.0.0.1:9', refused: /leaving this handle out/ },
  { name: 'tls client_auth', site: 'tls internal {\n    client_auth {\n        mode require_and_verify\n    }\n}\nreverse_proxy 127.0.0.1:9', refused: /tls client_auth cannot be carried over/ },
  { name: 'file_server hide beyond dot-files', site: 'file_server {\n    hide *.bak secret.txt\n}', refused: /file_server hide \*\.bak secret\.txt cannot be carried over/ },
  { name: 'rate_limit (a plugin)', site: 'rate_limit {\n    zone z {\n        key {remote_host}\n        events 10\n        window 1m\n    }\n}\nreverse_proxy 127.0.0.1:9', refused: /unrecognized directive: rate_limit \(github\.com\/mholt\/caddy-ratelimit/ },
  { name: 'timeouts read_body', site: 'reverse_proxy 127.0.0.1:9', global: 'servers {\n    timeouts {\n        read_body 10s\n    }\n}', refused: /timeouts read_body cannot be carried over/ },

  // Loads.
  { name: 'file_server hide of dot-files', site: 'file_server {\n    hide .git .env\n}' },
  { name: 'a 200 respond on a file matcher is only warned about', site: '@f file\nrespond @f "hello" 200\nreverse_proxy 127.0.0.1:9', warned: /matcher @f: .*this respond is left out/ },
  // Carried over as the route's match (their runtime is tested against Caddy in test/adapters/caddy-matchers-differential.test.ts).
  { name: 'respond 403 on a header matcher', site: '@bots header User-Agent *bot*\nrespond @bots 403\nreverse_proxy 127.0.0.1:9', carried: { header: { 'User-Agent': ['*bot*'] } } },
  { name: 'abort on a query matcher', site: '@probe query debug=1\nabort @probe\nreverse_proxy 127.0.0.1:9', carried: { query: { debug: ['1'] } } },
  { name: 'error on a not-path matcher', site: '@private not path /public/*\nerror @private 403\nreverse_proxy 127.0.0.1:9', carried: { not: [{ path: ['~* ^/public/'] }] } },
  { name: 'redir on a header matcher', site: '@nocookie not header Cookie *session*\nredir @nocookie /login\nreverse_proxy 127.0.0.1:9', carried: { not: [{ header: { Cookie: ['*session*'] } }] } },
  { name: 'basic_auth on a not-path matcher', site: `@private not path /public/*\nbasic_auth @private {\n    alice ${HASH}\n}\nreverse_proxy 127.0.0.1:9`, carried: { not: [{ path: ['~* ^/public/'] }] } },
  { name: 'basic_auth on a remote_ip matcher', site: `@outside not remote_ip 10.0.0.0/8\nbasic_auth @outside {\n    alice ${HASH}\n}\nreverse_proxy 127.0.0.1:9`, carried: { not_remote_ip: ['10.0.0.0/8'] } },
  { name: 'request_body on a header matcher', site: '@api header Content-Type application/json\nrequest_body @api {\n    max_size 1KB\n}\nreverse_proxy 127.0.0.1:9', carried: { header: { 'Content-Type': ['application/json'] } } },
  { name: 'a handle holding a refusal, on a host matcher', site: '@admin host admin.test\nhandle @admin {\n    respond 403\n}\nreverse_proxy 127.0.0.1:9', carried: { host: ['admin.test'] } },
  { name: 'remote_ip inside a block with remote_ip: both must hold', site: '@ten remote_ip 10.0.0.0/8\n@lan remote_ip 192.168.0.0/16\nhandle @ten {\n    reverse_proxy @lan 127.0.0.1:9\n}', carried: { all: [{ remote_ip: ['10.0.0.0/8'] }, { remote_ip: ['192.168.0.0/16'] }] } },
  { name: 'not remote_ip with respond 403 is carried over', site: '@outside not remote_ip 10.0.0.0/8\nrespond @outside 403\nreverse_proxy 127.0.0.1:9' },
  { name: 'timeouts read_header and idle, max_header_size', site: 'reverse_proxy 127.0.0.1:9', global: 'servers {\n    max_header_size 8KB\n    timeouts {\n        read_header 5s\n        idle 1m\n    }\n}' },
];

for (const c of CADDY) {
  test(`Caddyfile: ${c.name}: ${c.refused ? 'refused at its file:line' : 'loads'}`, () => {
    const indent = (s: string) => s.split('\n').map((l) => `    ${l}`).join('\n');
    const text = `${c.global ? `{\n${indent(c.global)}\n}\n` : ''}:8080 {\n${indent(c.site)}\n}\n`;
    let warnings: string[] = [];
    let routes: { match?: unknown }[] = [];
    const found = problems(() => {
      const r = adaptCaddyfile(text, 'Caddyfile', {});
      warnings = r.warnings;
      routes = (r.config.servers as { routes: { match?: unknown }[] }[])[0]!.routes;
    });
    if (c.refused) {
      const hit = found.find((p) => c.refused!.test(p));
      assert.ok(hit, `expected a refusal matching ${c.refused}, got ${JSON.stringify(found)}`);
      assert.match(hit, /^Caddyfile:\d+: /);
    } else {
      assert.deepEqual(found, []);
      if (c.warned) assert.ok(warnings.some((w) => c.warned!.test(w)), JSON.stringify(warnings));
      else assert.deepEqual(warnings, [], 'carried over, nothing left out');
      if (c.carried) assert.deepEqual(routes[0]!.match, c.carried);
    }
  });
}

test('nginx: a zone keyed on $server_name, used by two servers, loads (one zone per server name, as nginx keys them)', async () => {
  const { validateConfig } = await import('../../src/config/load.js');
  const { compile } = await import('../../src/compile/compile.js');
  const { silentLog } = await import('../../src/log/error-log.js');
  const text = `events {}
http {
    limit_req_zone $server_name zone=s:1m rate=1r/s;
    server { listen 127.0.0.1:8080; server_name a.test; location / { limit_req zone=s; return 200; } }
    server { listen 127.0.0.1:8080; server_name b.test; location / { limit_req zone=s; return 200; } }
}
`;
  const config = validateConfig(adaptNginx(text, 'nginx.conf').config, 'nginx.conf');
  const keys = config.servers.map((s) => s.routes[0]!.limit_req![0]!.key);
  assert.deepEqual(keys, ['a.test', 'b.test']);
  compile(config, { log: silentLog() }, 'nginx.conf').pools.destroy();
});
