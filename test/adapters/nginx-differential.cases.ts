/**
 * The nginx.conf of the differential test and the requests sent to both servers.
 * CONFIG(port, upstreamPort): the two copies differ only in the port they listen on.
 */
import type { Case } from './differential.js';

export const CONFIG = (port: number, up: number) => `
worker_processes 1;
events { worker_connections 256; }

http {
    include temp_paths.conf;
    include mime.types;
    default_type application/octet-stream;
    access_log off;

    upstream app {
        server 127.0.0.1:${up};
        keepalive 8;
    }

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }

    map $http_origin $cors_origin {
        default "";
        "~^https://([a-z]+\\.)?example\\.test$" $http_origin;
        https://exact.test yes;
    }

    map $host $site_label {
        default other;
        example.test main;
        www.example.test www;
    }

    server {
        listen 127.0.0.1:${port};
        server_name example.test www.example.test;

        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_http_version 1.1;
        add_header X-Server example always;

        # --- location precedence
        location / { proxy_pass http://app; }
        location = /exact { return 200 "exact\\n"; }
        location /prefix/ { proxy_pass http://app; }
        location /prefix/longer/ { return 200 "longer prefix\\n"; }
        location ^~ /noregex/ { return 200 "noregex\\n"; }
        location ~ ^/img/(\\w+)/(.+)$ { alias images/$1/$2; }
        location ~ \\.php$ { return 200 "php\\n"; }
        location ~* \\.(png|jpg)$ { return 200 "image\\n"; }
        location ~ ^/prefix/.*\\.php$ { return 200 "second regex\\n"; }

        # --- proxy_pass with and without a URI part
        location /strip/ { proxy_pass http://app/; }
        location /v1/ { proxy_pass http://app/api/v1/; }
        location /noslash { proxy_pass http://app/base; }
        location /trap { proxy_pass http://app/; }
        location = /exact-proxy { proxy_pass http://app/target; }
        location /direct/ { proxy_pass http://127.0.0.1:${up}; }
        location /direct-uri/ { proxy_pass http://127.0.0.1:${up}$request_uri; }

        # --- proxy_set_header inheritance: one line here drops the four from the server
        location /own-headers/ {
            proxy_set_header X-Custom yes;
            proxy_pass http://app;
        }
        location /vars/ {
            proxy_set_header Host $http_host;
            proxy_set_header X-Uri $request_uri;
            proxy_set_header X-Path $uri;
            proxy_set_header X-Args $args;
            proxy_set_header X-Is-Args $is_args;
            proxy_set_header X-Method $request_method;
            proxy_set_header X-Agent $http_user_agent;
            proxy_set_header X-Server-Name $server_name;
            proxy_set_header X-Port $server_port;
            proxy_set_header X-Scheme $scheme;
            proxy_set_header X-Remote $remote_addr;
            proxy_set_header X-Drop "";
            proxy_pass http://app;
        }
        location /ws/ {
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_pass http://app;
        }
        location /timeouts/ {
            proxy_connect_timeout 5s;
            proxy_read_timeout 30s;
            proxy_pass http://app;
        }
        location /hide/ {
            proxy_hide_header X-Upstream;
            proxy_pass http://app;
        }

        # --- add_header inheritance and always
        location /own-add-header/ {
            add_header X-Own here always;
            proxy_pass http://app;
        }

        # --- literal maps
        location /maps/ {
            add_header X-Cors $cors_origin always;
            proxy_set_header X-Site $site_label;
            proxy_pass http://app;
        }

        # --- proxy_redirect: default (implicit), explicit, off
        location /pr/ {
            proxy_redirect http://backend.internal/ /pr/;
            proxy_pass http://app/;
        }
        location /pr-off/ {
            proxy_redirect off;
            proxy_set_header X-A b;
            proxy_pass http://app;
        }
        location /success-only/ {
            add_header X-Own success-only;
            proxy_pass http://app;
        }

        # --- return
        location = /r301 { return 301 /target; }
        location = /r302 { return 302 https://elsewhere.test$request_uri; }
        location = /r-url { return https://elsewhere.test/x; }
        location = /r307 { return 307 http://$host/moved; }
        location = /r204 { return 204; }
        location = /r403 { return 403; }
        location = /r-text { return 200 "hello"; }
        location = /r-after { return 200 "first\\n"; return 200 "second\\n"; }

        # --- rewrite
        location /old/ { rewrite ^/old/(.*)$ /prefix/$1 last; }
        location /perm/ { rewrite ^/perm/(.*)$ /new/$1 permanent; }
        location /temp/ { rewrite ^/temp/(.*)$ /new/$1 redirect; }
        location /abs/ { rewrite ^/abs/(.*)$ https://elsewhere.test/$1; }
        location /brk/ {
            rewrite ^/brk/(.*)$ /internal/$1 break;
            proxy_pass http://app/ignored/;
        }
        location /args/ { rewrite ^/args/(.*)$ /prefix/?q=$1 last; }
        location /args-drop/ { rewrite ^ /prefix/dropped? last; }
        location /cont/ {
            rewrite ^/cont/a$ /cont/b;
            rewrite ^/cont/b$ /prefix/chained;
            return 200 "no rewrite matched\\n";
        }
        location /loop/ { rewrite ^/loop/(.*)$ /loop/$1 last; }
        location /ci/ { rewrite (?i)^/ci/UPPER$ /prefix/upper last; return 200 "ci\\n"; }

        # --- nested locations
        location /nest/ {
            proxy_pass http://app;
            location ~ \\.txt$ { return 200 "nested txt\\n"; }
            location /nest/deeper/ { return 200 "deeper\\n"; }
        }
        location ^~ /nx/ {
            return 200 "nx\\n";
            location ~ \\.css$ { return 200 "nx css\\n"; }
        }

        # --- static files (^~ keeps the image regex above away from them)
        root html;
        location = /favicon.ico { access_log off; log_not_found off; }
        location /pages/ { }
        location ^~ /static/ { alias static-files/; }
        location ^~ /media/ { root data; }
        location ^~ /spa/ { try_files $uri $uri/ /spa/index.html; }
        location /idx/ { index home.html index.html; }
        location /exp/ { expires 1h; }
        location ^~ /files-or-app/ { try_files $uri @app; }
        location /only-files/ { try_files $uri =404; }
        location ^~ /slip { alias static-files/; }

        # --- named location as a try_files fallback
        location @app { proxy_pass http://app; }
    }

    server {
        listen 127.0.0.1:${port};
        server_name *.wild.test;
        location / { proxy_pass http://app; }
    }

    server {
        listen 127.0.0.1:${port};
        server_name redirect.test;
        rewrite ^/(.*)$ https://example.test/$1 permanent;
        location / { return 200 "never\\n"; }
    }

    server {
        listen 127.0.0.1:${port} default_server;
        server_name _;
        return 404;
    }
}
`;

const HOST = 'example.test';

/** Issue 12: the upstream reads the path routing resolved, not one it could resolve otherwise. */
const DOT_SEGMENTS = 'nginx sends the raw path; Portico the path it routed on once it resolved dot segments (docs/differences.md)';

/** Portico labels text with its charset; nginx's mime.types does not (and has no charset_types by default). */
const charset = (type: string) => ({
  field: 'header.content-type',
  nginx: type,
  portico: `${type}; charset=utf-8`,
  why: 'Portico adds charset=utf-8 to text types (docs/differences.md)',
});
const htmlType = charset('text/html');

/** `return CODE TEXT`: nginx types the text by the request's extension (its mime.types), Portico with default_type. */
const returnType = (nginx: string) => ({
  field: 'header.content-type',
  nginx,
  portico: 'application/octet-stream',
  why: "Portico labels `return` text with default_type; nginx first looks the request's extension up in its types",
});

/** Files under the prefix of each copy (nginx's prefix also gets Debian's mime.types; Portico's uses its built-in copy). */
export const STATIC_FILES: Record<string, string> = {
  'html/pages/index.html': '<h1>home</h1>\n',
  'html/pages/page.html': '<p>page</p>\n',
  'html/favicon.ico': 'ICO-BYTES',
  'html/spa/index.html': '<div id=app></div>\n',
  'html/spa/app.png': 'PNG-SPA',
  'html/idx/home.html': '<p>home index</p>\n',
  'html/exp/data.bin': 'BINARY',
  'html/files-or-app/here.png': 'PNG-HERE',
  'static-files/app.css': 'body { color: red }\n',
  'static-files/logo.png': 'PNG-LOGO-BYTES',
  'static-files/.env': 'SECRET=1\n',
  'static-files/sub/index.html': '<p>sub</p>\n',
  'data/media/photo.jpg': 'JPEG-BYTES',
  'images/cats/tom.png': 'PNG-TOM',
};

export const CASES: Case[] = [
  // location precedence
  { name: 'prefix / catches everything else', path: '/anything/at/all' },
  { name: 'exact location wins', path: '/exact' },
  { name: 'exact location: /exact/ is not /exact', path: '/exact/' },
  { name: 'exact location with a query', path: '/exact?x=1' },
  { name: 'longest prefix', path: '/prefix/a' },
  { name: 'longer prefix beats shorter', path: '/prefix/longer/x' },
  { name: '^~ beats a matching regex', path: '/noregex/a.php' },
  { name: 'regex beats a plain prefix', path: '/prefix/a.png', differs: [returnType('image/png')] },
  { name: 'first matching regex in file order', path: '/prefix/a.php' },
  { name: 'case-insensitive regex', path: '/x/PHOTO.JPG', differs: [returnType('image/jpeg')] },
  { name: 'case-sensitive regex does not match other case', path: '/x/a.PHP' },
  { name: 'regex on the decoded path', path: '/x/a%2Ephp' },
  {
    name: 'routing on the normalized path, and that path sent upstream',
    path: '/noregex/../prefix/a',
    differs: [{ field: 'upstream.url', nginx: '/noregex/../prefix/a', portico: '/prefix/a', why: DOT_SEGMENTS }],
  },
  { name: 'merged slashes route to /prefix/', path: '//prefix//b' },
  { name: 'proxied prefix without slash: 301 to the slash form', path: '/prefix' },
  { name: 'auto-redirect keeps the query', path: '/prefix?a=b' },

  // proxy_pass URI mapping
  { name: 'proxy_pass with "/": prefix replaced', path: '/strip/x/y?q=1' },
  { name: 'proxy_pass with "/": the prefix itself', path: '/strip/' },
  { name: 'proxy_pass with a path: /v1/ -> /api/v1/', path: '/v1/users/7' },
  { name: 'proxy_pass without trailing slash: /noslash/x -> /base/x', path: '/noslash/x' },
  { name: 'proxy_pass without trailing slash: /noslashx -> /basex', path: '/noslashx' },
  { name: 'trap: location /trap + proxy_pass http://app/ gives //x', path: '/trap/x' },
  { name: 'trap: /trapdoor -> /door', path: '/trapdoor' },
  { name: 'exact location with a URI part', path: '/exact-proxy?k=v' },
  { name: 'URI part: percent-encoding kept', path: '/strip/a%20b' },
  {
    name: 'URI part: an encoded slash',
    path: '/strip/a%2Fb',
    differs: [
      {
        field: 'upstream.url',
        nginx: '/a/b',
        portico: '/a%2Fb',
        why: 'Portico cuts the raw path when it can, so an encoded slash stays one path segment (docs/adapters.md)',
      },
    ],
  },
  { name: 'URI part: dot segments resolved first', path: '/strip/a/../b' },
  { name: 'upstream address written out instead of an upstream block', path: '/direct/x?y=1' },
  { name: 'proxy_pass http://host$request_uri', path: '/direct-uri/a%20b?c=d' },

  // headers the upstream receives
  { name: 'server-level proxy_set_header reach a location without any', path: '/prefix/h' },
  { name: 'Host is $host: no port, lower case', path: '/prefix/h', host: 'WWW.Example.TEST:8080' },
  {
    name: 'spoofed X-Forwarded-For',
    path: '/prefix/xff',
    headers: [['X-Forwarded-For', '1.2.3.4']],
    differs: [
      {
        field: 'upstream.header.x-forwarded-for',
        nginx: '1.2.3.4, 127.0.0.1',
        portico: '127.0.0.1',
        why: "a client outside trusted_proxies cannot add addresses; nginx's $proxy_add_x_forwarded_for appends what it sent",
      },
    ],
  },
  { name: 'client headers pass through', path: '/prefix/c', headers: [['X-Anything', 'kept'], ['Accept', 'text/html']] },
  { name: 'inheritance trap: one proxy_set_header drops the server ones (Host becomes "app")', path: '/own-headers/x' },
  { name: 'variables in proxy_set_header', path: '/vars/p?a=1&b=2', headers: [['User-Agent', 'diff/1.0'], ['X-Drop', 'gone']], host: 'Example.test:81' },
  { name: 'variables without a query: $is_args empty', path: '/vars/q' },
  { name: 'WebSocket idiom lines are left to Portico', path: '/ws/chat' },
  { name: 'timeouts do not change the request', path: '/timeouts/t' },
  { name: 'proxy_hide_header removes an upstream header', path: '/hide/x' },
  { name: 'POST body reaches the upstream', method: 'POST', path: '/prefix/post', body: 'a=1&b=2', headers: [['Content-Type', 'application/x-www-form-urlencoded']] },
  { name: 'PUT body', method: 'PUT', path: '/strip/put', body: '{"x":1}' },
  { name: 'HEAD is proxied as HEAD', method: 'HEAD', path: '/prefix/head' },
  { name: 'DELETE', method: 'DELETE', path: '/v1/items/3' },

  // add_header
  { name: 'add_header always on a proxied 200', path: '/prefix/ok' },
  { name: 'add_header always on an upstream 404', path: '/prefix/missing?status=404' },
  { name: 'add_header always on an upstream 500', path: '/prefix/boom?status=500' },
  { name: 'add_header at the location drops the server one', path: '/own-add-header/x' },
  { name: 'upstream Location passes through', path: '/prefix/redir?status=302&location=/elsewhere' },
  { name: 'proxy_redirect default: the upstream address in Location becomes the location', path: '/own-headers/r?status=302&location=http://app/own-headers/next' },
  { name: 'proxy_redirect default: other Locations are left alone', path: '/own-headers/r?status=302&location=http://other.example/x' },
  { name: 'proxy_redirect with a URI part: http://app/ -> /strip/', path: '/v1/r?status=301&location=http://app/api/v1/x' },
  { name: 'proxy_redirect explicit', path: '/pr/r?status=302&location=http://backend.internal/a' },
  { name: 'proxy_redirect off', path: '/pr-off/r?status=302&location=http://app/x' },
  { name: 'map: a regex key', path: '/maps/a', headers: [['Origin', 'https://shop.example.test']], compare: ['x-cors'] },
  { name: 'map: plain keys match ignoring case', path: '/maps/b', headers: [['Origin', 'HTTPS://EXACT.TEST']], compare: ['x-cors'] },
  { name: 'map: the default (empty, so no header)', path: '/maps/c', headers: [['Origin', 'https://evil.test']], compare: ['x-cors'] },
  { name: 'map on $host', path: '/maps/d', host: 'www.example.test', compare: ['x-cors'] },
  { name: 'map on $host, ignoring case', path: '/maps/e', host: 'EXAMPLE.Test', compare: ['x-cors'] },
  { name: 'add_header without always on a 200', path: '/success-only/a' },
  { name: 'add_header without always: not on a 404', path: '/success-only/a?status=404' },
  { name: 'add_header without always: not on a 500', path: '/success-only/a?status=500' },
  { name: 'add_header without always: on a 302', path: '/success-only/a?status=302&location=/b' },
  { name: 'add_header without always: on a 304', path: '/success-only/a?status=304' },

  // return
  { name: 'return 301 with a relative URL', path: '/r301' },
  { name: 'return 302 with variables', path: '/r302?x=1' },
  { name: 'return URL (302)', path: '/r-url' },
  { name: 'return 307 with $host', path: '/r307', host: 'Example.TEST' },
  { name: 'return 204', path: '/r204' },
  { name: 'return 403', path: '/r403' },
  { name: 'return with text', path: '/r-text' },
  { name: 'the first return wins', path: '/r-after' },

  // rewrite
  { name: 'rewrite last re-routes to a proxied location', path: '/old/x/y?keep=1' },
  { name: 'rewrite permanent', path: '/perm/a?x=1' },
  { name: 'rewrite redirect', path: '/temp/b' },
  { name: 'rewrite to an absolute URL redirects', path: '/abs/c?d=e' },
  { name: 'rewrite break: the new path goes upstream as is', path: '/brk/z?w=1' },
  { name: 'rewrite with a query: new args first, old ones appended', path: '/args/v?old=1' },
  { name: 'rewrite ending in "?": old args dropped', path: '/args-drop/x?old=1' },
  { name: 'rewrite without a flag: rules chain, then the path is routed again', path: '/cont/a' },
  { name: 'rewrite without a match falls through to return', path: '/cont/zzz' },
  { name: 'rewrite loop: 500 after 10 cycles', path: '/loop/x' },
  { name: 'rewrite with (?i)', path: '/ci/upper' },

  // nested locations
  { name: 'nested: parent prefix proxies', path: '/nest/a' },
  { name: 'nested: regex inside the prefix', path: '/nest/a.txt', differs: [returnType('text/plain')] },
  { name: 'nested: deeper prefix', path: '/nest/deeper/x' },
  { name: 'nested: deeper prefix, the parent level regex still applies', path: '/nest/deeper/x.txt', differs: [returnType('text/plain')] },
  { name: 'nested: outer regex after the inner ones', path: '/nest/a.php' },
  { name: 'nested under ^~: inner regex runs', path: '/nx/a.css', differs: [returnType('text/css')] },
  { name: 'nested under ^~: outer regexes do not', path: '/nx/a.php' },
  { name: 'nested under ^~: plain', path: '/nx/a' },
  { name: 'regex outside the nested prefix', path: '/other/a.txt' },

  // static files (root, alias, index, try_files, expires)
  { name: 'an empty location serves files from the server root', path: '/pages/page.html', differs: [htmlType] },
  { name: 'the index file of a directory', path: '/pages/', differs: [htmlType] },
  {
    name: 'favicon in an exact location (access_log off)',
    path: '/favicon.ico',
    differs: [{ field: 'header.content-type', nginx: 'image/x-icon', portico: 'image/vnd.microsoft.icon', why: "Portico's types come from mime-db, not nginx's mime.types" }],
  },
  { name: 'alias: a stylesheet', path: '/static/app.css', differs: [charset('text/css')] },
  { name: 'alias: an image', path: '/static/logo.png' },
  { name: 'alias: a missing file is 404', path: '/static/missing.png' },
  { name: 'alias: a directory without slash is 301', path: '/static/sub' },
  { name: 'alias: a directory index', path: '/static/sub/', differs: [htmlType] },
  {
    name: 'alias: no traversal out of the directory',
    path: '/static/../nginx.conf',
    differs: [{ field: 'upstream.url', nginx: '/static/../nginx.conf', portico: '/nginx.conf', why: DOT_SEGMENTS }],
  },
  {
    name: 'dot-files',
    path: '/static/.env',
    differs: [
      { field: 'status', nginx: 200, portico: 404, why: 'Portico refuses dot-files (.env, .git) unless `hidden: true`; nginx serves them' },
      { field: 'body', nginx: 'SECRET=1\n', portico: undefined, why: 'the same refused dot-file' },
      { field: 'header.content-type', nginx: 'application/octet-stream', portico: undefined, why: 'the same refused dot-file' },
    ],
  },
  { name: 'root in a location: the path is appended', path: '/media/photo.jpg' },
  { name: 'HEAD of a file', method: 'HEAD', path: '/static/logo.png' },
  { name: 'a byte range', path: '/static/logo.png', headers: [['Range', 'bytes=0-3']], compare: ['content-range', 'content-length'] },
  { name: 'try_files: an existing file', path: '/spa/app.png' },
  { name: 'try_files: a client-side route falls back to index.html', path: '/spa/some/route', differs: [htmlType] },
  { name: 'index: the first index file that exists', path: '/idx/', differs: [htmlType] },
  { name: 'expires: Cache-Control max-age', path: '/exp/data.bin' },
  { name: 'alias with regex captures', path: '/img/cats/tom.png' },
  { name: 'try_files falls back to a named location that proxies', path: '/files-or-app/route?x=1' },
  { name: 'try_files: an existing file is served, not proxied', path: '/files-or-app/here.png' },
  { name: 'try_files =404', path: '/only-files/nothing' },
  { name: 'alias without a trailing slash on the location: a file under it', path: '/slip/logo.png' },
  {
    name: "alias slip: location /slip with alias .../ maps /sliplogo.png to a file",
    path: '/sliplogo.png',
    differs: [
      { field: 'status', nginx: 200, portico: 404, why: "Portico's alias only follows whole path segments (nginx's alias slip, a traversal risk)" },
      { field: 'body', nginx: 'PNG-LOGO-BYTES', portico: undefined, why: 'the same: nginx served static-files/logo.png' },
      { field: 'header.content-type', nginx: 'image/png', portico: undefined, why: 'the same' },
    ],
  },
  { name: 'try_files: POST goes to the named location', method: 'POST', path: '/files-or-app/form', body: 'x=1' },

  // virtual hosts
  { name: 'wildcard server name', path: '/w', host: 'a.wild.test' },
  { name: 'deeper wildcard', path: '/w', host: 'a.b.wild.test' },
  { name: 'unknown host goes to the default_server (return 404)', path: '/x', host: 'unknown.test' },
  { name: 'server-level rewrite redirects every path', path: '/some/where?q=1', host: 'redirect.test' },
  { name: 'host with a trailing dot', path: '/prefix/dot', host: `${HOST}.` },
  { name: 'second name of the first server', path: '/prefix/www', host: 'www.example.test' },
];
