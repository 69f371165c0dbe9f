/**
 * nginx's variables, `set` and `if` (issue 18 items 3 and 4), side by side: one nginx.conf run
 * by a real nginx and by Portico, in front of the same echo upstream; every request goes to both
 * and the answers (status, chosen headers, small bodies) and what the upstream saw are compared.
 *  - variables in `return` text, `add_header`, `proxy_set_header`, redirects;
 *  - `set` in server and location, in order with `rewrite` and `return`;
 *  - `if` with each kind of condition, in server and location blocks; `return`, `rewrite`,
 *    `set`, `break` inside; an `if` whose block changes settings ("if is evil": the last `if`
 *    that held chooses the settings, `try_files` is not carried into it, `return` still runs in
 *    the rewrite phase);
 *  - `map` with regex captures in values, a map reading another map, `hostnames`;
 *  - `geo` (CIDRs, `delete`, `ranges`, on $remote_addr or another variable);
 *  - `limit_rate`, `limit_rate_after` and `set $limit_rate`, read back by $limit_rate (the pacing
 *    itself: test/filters/limit-rate.test.ts).
 * Before this work Portico refused this config ("if" holding return) or sent "$host" as text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/django.js';
import { haveNginx, makePrefix, startNginx, TEMP_PATHS } from '../helpers/nginx.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/server/server.js';
import { silentLog } from '../../src/log/error-log.js';
import { assertSame, echo, observe, type Case } from './differential.js';

export const VARS_CONFIG = (port: number, up: number) => `
events {}
http {
    include temp_paths.conf;
    access_log off;
    default_type text/plain;

    map $arg_m $mapped {
        default none;
        exact hit;
        ~^([a-z]+)-(\\d+)$ $2/$1;
        ~*^nested$ $inner;
    }
    map $arg_n $inner {
        default inner-default;
        x inner-x;
    }
    geo $geo {
        default world;
        127.0.0.0/8 loopback;
        127.0.0.1 me;
        10.0.0.0/8 ten;
        delete 10.0.0.0/8;
    }
    geo $arg_ip $geo_arg {
        ranges;
        default none;
        192.0.2.0-192.0.2.127 low;
        192.0.2.128-192.0.2.255 high;
    }
    map $http_x_site $site {
        hostnames;
        default other;
        example.test main;
        *.example.test sub;
        .dot.test dot;
        www.example.* www;
    }

    server {
        listen 127.0.0.1:${port};
        server_name example.test;
        set $srv server-level;
        if ($http_x_block) {
            return 403;
        }
        if ($arg_srv = jump) {
            rewrite ^ /vars/jumped? last;
        }
        if ($arg_srv = stop) {
            set $srv stopped;
            break;
        }

        location /vars/ {
            return 200 "host=$host uri=$uri args=$args a=$arg_a m=$request_method s=$scheme p=$server_protocol ia=$is_args q=$query_string ru=$request_uri sn=$server_name srv=$srv c=$cookie_c h=$http_x_h\\n";
        }
        location /set/ {
            set $x "[$arg_a]";
            set $y "$x$x";
            return 200 "$y\\n";
        }
        location /set-rewrite/ {
            set $before $uri;
            rewrite ^/set-rewrite/(.*)$ /changed/$1;
            set $after $uri;
            return 200 "$before -> $after\\n";
        }
        location /if/eq {
            if ($arg_a = yes) {
                return 200 "eq\\n";
            }
            return 200 "ne\\n";
        }
        location /if/ne {
            if ($arg_a != yes) {
                return 200 "not yes\\n";
            }
            return 200 "yes\\n";
        }
        location /if/re {
            if ($arg_a ~* ^(ab)(c+)$) {
                return 200 "m $1 $2\\n";
            }
            return 200 "no\\n";
        }
        location /if/neg {
            if ($arg_a !~ ^x) {
                return 204;
            }
            return 200 "x\\n";
        }
        location /if/truthy {
            if ($arg_a) {
                return 200 "true\\n";
            }
            return 200 "false\\n";
        }
        location /if/set {
            set $who anonymous;
            if ($cookie_user) {
                set $who $cookie_user;
            }
            return 200 "who=$who\\n";
        }
        location /if/break {
            if ($arg_a) {
                break;
            }
            return 200 "no break\\n";
        }
        location /if/rewrite {
            if ($arg_to) {
                rewrite ^ /vars/$arg_to last;
            }
            return 200 "kept\\n";
        }
        location /evil/ {
            add_header X-Own outer;
            if ($arg_a) {
                add_header X-Own first;
            }
            if ($arg_b) {
                add_header X-Own second;
            }
            proxy_pass http://127.0.0.1:${up};
        }
        location /ifproxy/ {
            if ($arg_up) {
                proxy_pass http://127.0.0.1:${up};
            }
            return 200 "return wins\\n";
        }
        location /ifproxy-break/ {
            if ($arg_up) {
                proxy_pass http://127.0.0.1:${up};
                break;
            }
            return 200 "static\\n";
        }
        location /methods/ {
            proxy_pass http://127.0.0.1:${up}/get/;
            limit_except GET {
                proxy_pass http://127.0.0.1:${up};
            }
        }
        location /proxy/ {
            proxy_set_header X-Who "$arg_who/$host";
            proxy_set_header X-Srv $srv;
            proxy_pass http://127.0.0.1:${up};
        }
        location /tf/ {
            try_files $uri /tf/fallback.txt;
            if ($arg_a) {
            }
        }
        location /file/ {
            if (-f $document_root$uri) {
                return 200 "file\\n";
            }
            if (-d $document_root$uri) {
                return 200 "dir\\n";
            }
            return 200 "none\\n";
        }
        location /idx/ {
            index missing.html /vars/;
        }
        location /idx-found/ {
            index here.html /vars/;
        }
        location /hdr/ {
            add_header X-Var "$arg_a-$host" always;
            return 204;
        }
        location /redir/ {
            return 302 "http://$host/vars/?from=$uri";
        }
        location /geo/ {
            if ($geo = me) {
                return 200 "it is me, arg=$geo_arg\n";
            }
            return 200 "geo=$geo arg=$geo_arg\n";
        }
        location /map/ {
            return 200 "mapped=$mapped site=$site\\n";
        }
        location /rate/ {
            set $limit_rate $arg_l;
            add_header X-Rate $limit_rate;
            return 200 "rated\\n";
        }
        location /rate-file/ {
            limit_rate 32k;
            limit_rate_after 1k;
            add_header X-Rate $limit_rate;
        }
    }
}
`;

export const VARS_FILES = {
  'html/tf/fallback.txt': 'fallback\n',
  'html/tf/there.txt': 'there\n',
  'html/file/a.txt': 'a\n',
  'html/file/sub/b.txt': 'b\n',
  'html/idx-found/here.html': 'here\n',
  'html/idx/other.txt': 'other\n',
  'html/rate-file/big.txt': 'x'.repeat(48 * 1024),
};

const TEXT_TYPE = { field: 'header.content-type', nginx: 'text/plain', portico: 'text/plain; charset=utf-8', why: 'Portico labels text files with their charset (docs/differences.md)' };

const CASES: Case[] = [
  { name: 'variables in return text', path: '/vars/x?a=1&b=2', headers: [['Cookie', 'c=cv'], ['X-H', 'hv']] },
  { name: 'variables: no query', path: '/vars/' },
  { name: 'variables: $uri is decoded and normalized, $request_uri as sent', path: '/vars/a/../b%20c?x' },
  { name: 'set from set', path: '/set/?a=q' },
  { name: 'set before and after a rewrite without flag', path: '/set-rewrite/p' },
  { name: 'if =: true', path: '/if/eq?a=yes' },
  { name: 'if =: false', path: '/if/eq?a=no' },
  { name: 'if !=: true', path: '/if/ne?a=no' },
  { name: 'if !=: false', path: '/if/ne?a=yes' },
  { name: 'if ~*: captures feed $1 $2', path: '/if/re?a=ABccc' },
  { name: 'if ~*: no match', path: '/if/re?a=abd' },
  { name: 'if !~: true', path: '/if/neg?a=yx' },
  { name: 'if !~: false', path: '/if/neg?a=xy' },
  { name: 'if $var: "1" is true', path: '/if/truthy?a=1' },
  { name: 'if $var: "0" is false', path: '/if/truthy?a=0' },
  { name: 'if $var: empty is false', path: '/if/truthy' },
  { name: 'set inside if', path: '/if/set', headers: [['Cookie', 'user=ann']] },
  { name: 'set inside if: condition false', path: '/if/set' },
  { name: 'break inside if stops the return (files are served: 404)', path: '/if/break?a=1' },
  { name: 'break inside if: condition false', path: '/if/break' },
  { name: 'rewrite last inside if', path: '/if/rewrite?to=there' },
  { name: 'rewrite last inside if: condition false', path: '/if/rewrite' },
  { name: 'server-level if return 403', path: '/vars/', headers: [['X-Block', '1']] },
  { name: 'server-level if rewrite last', path: '/nowhere?srv=jump' },
  { name: 'server-level if set + break', path: '/vars/?srv=stop' },
  { name: 'if is evil: no if holds, the outer add_header', path: '/evil/x' },
  { name: 'if is evil: the first if holds', path: '/evil/x?a=1' },
  { name: 'if is evil: both hold, only the last one counts', path: '/evil/x?a=1&b=1' },
  { name: 'if is evil: the second alone', path: '/evil/x?b=1' },
  { name: 'proxy_pass inside if: the return of the rewrite phase still answers', path: '/ifproxy/x?up=1' },
  { name: 'proxy_pass inside if with break: proxied', path: '/ifproxy-break/x?up=1' },
  { name: 'proxy_pass inside if with break: condition false', path: '/ifproxy-break/x' },
  { name: 'proxy_set_header with variables', path: '/proxy/x?who=me' },
  { name: 'limit_except GET: GET goes to the location\'s proxy_pass', path: '/methods/x' },
  { name: 'limit_except GET: HEAD too', method: 'HEAD', path: '/methods/x' },
  { name: 'limit_except GET { proxy_pass }: POST goes to the block\'s', method: 'POST', path: '/methods/x', body: 'b' },
  { name: 'try_files applies without the if', path: '/tf/missing', differs: [TEXT_TYPE] },
  { name: 'try_files: a file that exists', path: '/tf/there.txt', differs: [TEXT_TYPE] },
  { name: 'if is evil: try_files is lost inside an if that holds', path: '/tf/missing?a=1' },
  { name: 'if -f', path: '/file/a.txt' },
  { name: 'if -d', path: '/file/sub' },
  { name: 'if -f / -d: neither', path: '/file/nothing' },
  { name: 'index with an absolute path: none of the others exists, an internal redirect', path: '/idx/?q=1' },
  { name: 'index with an absolute path: no such directory, 404', path: '/idx/nodir/' },
  { name: 'index with an absolute path: one before it exists', path: '/idx-found/', differs: [{ field: 'header.content-type', nginx: 'text/html', portico: 'text/html; charset=utf-8', why: 'Portico labels text files with their charset (docs/differences.md)' }] },
  { name: 'add_header with variables, always', path: '/hdr/?a=v', compare: ['x-var'] },
  { name: 'return 302 with variables', path: '/redir/p' },
  { name: 'geo: the client address, the longest prefix', path: '/geo/' },
  { name: 'geo ranges on $arg_ip', path: '/geo/?ip=192.0.2.200' },
  { name: 'geo ranges: the low range', path: '/geo/?ip=192.0.2.5' },
  { name: 'geo ranges: not an address', path: '/geo/?ip=junk' },
  { name: 'map: default', path: '/map/' },
  { name: 'map: exact key', path: '/map/?m=exact' },
  { name: 'map: regex key, captures in the value', path: '/map/?m=abc-42' },
  { name: 'map: a value reading another map', path: '/map/?m=NESTED&n=x' },
  { name: 'map hostnames: exact, ignoring case and a trailing dot', path: '/map/', headers: [['X-Site', 'Example.Test.']] },
  { name: 'map hostnames: *.example.test', path: '/map/', headers: [['X-Site', 'a.b.example.test']] },
  { name: 'map hostnames: .dot.test matches dot.test itself', path: '/map/', headers: [['X-Site', 'dot.test']] },
  { name: 'map hostnames: .dot.test matches a subdomain', path: '/map/', headers: [['X-Site', 'www.dot.test']] },
  { name: 'map hostnames: www.example.*', path: '/map/', headers: [['X-Site', 'www.example.org']] },
  { name: 'set $limit_rate: a size, read back as bytes by $limit_rate', path: '/rate/?l=40k', compare: ['x-rate'] },
  { name: 'set $limit_rate: not a size leaves it as it was (0)', path: '/rate/', compare: ['x-rate'] },
  { name: 'limit_rate and limit_rate_after on a file: the whole body, $limit_rate', path: '/rate-file/big.txt', differs: [TEXT_TYPE], compare: ['x-rate'] },
];

test('nginx variables, set and if: the same nginx.conf in nginx and in Portico', { skip: !haveNginx() && 'nginx is not installed' }, async (t) => {
  const upstream = await startUpstream(echo);
  t.after(() => upstream.close());
  const [nginxPort, porticoPort] = [await freePort(), await freePort()];
  const files = (port: number) => ({ 'nginx.conf': VARS_CONFIG(port, upstream.port), 'temp_paths.conf': TEMP_PATHS, ...VARS_FILES });
  const nginxPrefix = await makePrefix(files(nginxPort));
  const porticoPrefix = await makePrefix(files(porticoPort));
  t.after(() => Promise.all([nginxPrefix.remove(), porticoPrefix.remove()]));
  const nginx = await startNginx(nginxPrefix, nginxPort);
  t.after(() => nginx.close());
  const loaded = await loadConfigFile(porticoPrefix.conf, { nginxPrefix: porticoPrefix.dir });
  assert.deepEqual(loaded.warnings, []);
  const portico = await startServer(loaded.config, { errorLog: silentLog(), accessLog: false });
  t.after(() => portico.close());

  for (const [i, c] of CASES.entries()) {
    await t.test(c.name, async () => {
      const n = await observe(nginxPort, c, `n${i}`, upstream.seen);
      const p = await observe(porticoPort, c, `p${i}`, upstream.seen);
      // Both bodies name the server's own port where they hold the host's; they differ only there.
      if (n.body !== undefined) n.body = n.body.replaceAll(String(nginxPort), '{PORT}');
      if (p.body !== undefined) p.body = p.body.replaceAll(String(porticoPort), '{PORT}');
      assertSame(c, n, p);
    });
  }
});
