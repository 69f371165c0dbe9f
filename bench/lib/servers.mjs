// The origin and the proxies under test: generated configs, start commands, which PID to measure.
// Everything listens on 127.0.0.1; every file goes under the run's temp directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, childrenOf, descendantsOf } from './proc.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The hard limit of open files (`ulimit -Hn`) every process here runs under ("unlimited" is
 * taken as 65536: nginx preallocates its connection table, so it gets a sensible size).
 */
export const fdHardLimit = (() => {
  const out = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout?.trim();
  const n = out === 'unlimited' ? 65536 : Number(out);
  return Number.isFinite(n) && n > 0 ? n : 1024;
})();

/**
 * The top of an nginx config, and its temp paths (nginx would otherwise put them under its
 * compiled-in prefix). With `manyConnections` the worker may use every fd the hard limit allows
 * (worker_rlimit_nofile) and as many connections (a WebSocket tunnel counts two): the proxy
 * holds 10,000 idle clients in (m1) and 9,000 tunnels in (m2).
 */
function nginxCommon(dir, { manyConnections = false } = {}) {
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d), { recursive: true });
  const limits = manyConnections
    ? `worker_rlimit_nofile ${fdHardLimit};\nevents { worker_connections ${Math.max(1024, fdHardLimit - 64)}; }`
    : 'events { worker_connections 8192; }';
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
${limits}
`;
}
function nginxTemps(dir) {
  return `
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;`;
}

function startNginx(name, dir, conf) {
  writeFileSync(join(dir, 'nginx.conf'), conf);
  // -e: the error log used before the config is read (else the compiled-in /var/log path).
  const log = join(dir, 'error.log');
  const h = start(name, 'nginx', ['-p', dir, '-e', log, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { logFile: log });
  h.stopSignal = 'SIGQUIT';
  return h;
}

/** The measured PID of an nginx: its one worker (the master only supervises). */
function nginxWorker(h) {
  return childrenOf(h.pid)[0] ?? h.pid;
}

/**
 * The origin: nginx serving /1k and /1m from files, and POST /upload which reads the whole body
 * before answering (the body is read for proxy_pass, then not forwarded to the /sink location).
 */
export function startOrigin(tmp, port) {
  const dir = join(tmp, 'origin');
  const www = join(dir, 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, '1k'), Buffer.alloc(1024, 'a'));
  writeFileSync(join(www, '1m'), Buffer.alloc(1024 * 1024, 'b'));
  writeFileSync(join(www, '100k.json'), jsonBody(100 * 1024));
  writeFileSync(join(www, '4k'), Buffer.alloc(4096, 'c')); // (k2): every /k4/<n> is this file
  const conf = `${nginxCommon(dir)}
http {
  access_log off;${nginxTemps(dir)}
  default_type application/octet-stream;
  types { application/json json; }
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  open_file_cache max=16 inactive=60s;
  upstream self { server 127.0.0.1:${port}; keepalive 16; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${www};
    client_max_body_size 2m;
    client_body_buffer_size 2m;
    location = /upload {
      proxy_pass http://self/sink;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }
    location = /sink { return 200 "ok\\n"; }
    location /k4/ { try_files /4k =404; }
  }
}
`;
  return startNginx('origin (nginx)', dir, conf);
}

/**
 * A JSON document of about `size` bytes, the same every run (ids, names, numbers, dates,
 * words: it compresses about as an API's answers do), for the compression scenarios (z1, z6).
 */
export function jsonBody(size) {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega portico proxy django gunicorn nginx caddy request response header body stream'.split(' ');
  const w = () => words[Math.floor(rnd() * words.length)];
  const items = [];
  let text = '';
  for (let i = 0; text.length < size; i++) {
    items.push({
      id: i,
      uuid: Array.from({ length: 4 }, () => Math.floor(rnd() * 0xffffffff).toString(16).padStart(8, '0')).join('-'),
      name: `${w()} ${w()}`,
      email: `${w()}.${w()}${Math.floor(rnd() * 1000)}@example.com`,
      active: rnd() > 0.5,
      score: Math.round(rnd() * 100000) / 100,
      tags: Array.from({ length: 1 + Math.floor(rnd() * 4) }, w),
      created: new Date(1.6e12 + Math.floor(rnd() * 1e11)).toISOString(),
      description: Array.from({ length: 5 + Math.floor(rnd() * 15) }, w).join(' '),
    });
    text = JSON.stringify({ count: items.length, results: items });
  }
  return text;
}

/** The files the static scenarios (e) serve, under <tmp>/static/, the same for every server. */
export function writeStaticFiles(tmp) {
  const dir = join(tmp, 'static');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '4k.bin'), Buffer.alloc(4096, 's'));
  writeFileSync(join(dir, '1m.bin'), Buffer.alloc(1024 * 1024, 'S'));
}

/** The WebSocket echo origin (bench/ws-origin.mjs), one Node process. */
export function startWsOrigin(tmp, port) {
  const dir = join(tmp, 'ws-origin');
  mkdirSync(dir, { recursive: true });
  return start('ws origin (node)', process.execPath, [join(repo, 'bench', 'ws-origin.mjs'), String(port)], {
    logFile: join(dir, 'stderr.log'),
    cwd: dir,
  });
}

/**
 * The certificate of the HTTPS scenario (h), the same for every proxy: a self-signed ECDSA P-256
 * certificate for 127.0.0.1, made with openssl under <tmp>/tls/.
 */
export function writeTlsFiles(tmp) {
  const dir = join(tmp, 'tls');
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr || r.error}`);
  return { cert, key };
}

/**
 * `tls` (4th argument of start) is { port, cert, key }: also serve the same routes over HTTPS
 * there (scenario h); `tls: false` marks a proxy left out of scenario h.
 *
 * The proxies: start(tmp, port, origins) -> handle, where origins = { http, ws } are the ports of
 * the nginx origin (every path) and of the WebSocket origin (/ws/); pid(handle) -> the process(es)
 * to measure. `files: false` marks a proxy that cannot serve files itself (left out of scenario e),
 * `compress: false` one that does not compress (left out of z1 and z6), `cache: false` one
 * without a response cache (left out of k1, k2, k3). origins.count, when set, is the counting
 * origin of (k3), behind /lock/.
 */
export const proxies = {
  nginx: {
    start(tmp, port, origins, tls) {
      const dir = join(tmp, 'nginx-proxy');
      mkdirSync(dir, { recursive: true });
      const conf = `${nginxCommon(dir, { manyConnections: true })}
http {
  access_log off;${nginxTemps(dir)}
  keepalive_requests 1000000;
  upstream origin { server 127.0.0.1:${origins.http}; keepalive 32; keepalive_requests 1000000; }
  upstream wsorigin { server 127.0.0.1:${origins.ws}; }
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=bench:10m inactive=1h;
  server {
    listen 127.0.0.1:${port} backlog=4096;${
      tls
        ? `
    listen 127.0.0.1:${tls.port} ssl http2 backlog=4096;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:1m;`
        : ''
    }
    client_max_body_size 2m;
    location /static/ {
      root ${tmp};
      sendfile on;
    }
    location /ws/ {
      proxy_pass http://wsorigin;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 1h;
    }
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /cache/ {
      proxy_pass http://origin/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      add_header X-Cache-Status $upstream_cache_status;
    }${
      origins.count
        ? `
    location /lock/ {
      proxy_pass http://127.0.0.1:${origins.count}/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_lock on;
      add_header X-Cache-Status $upstream_cache_status;
    }`
        : ''
    }${[1, 6]
      .map(
        (level) => `
    location /gz${level}/ {
      gzip on;
      gzip_comp_level ${level};
      gzip_types application/json;
      proxy_pass http://origin/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }`,
      )
      .join('')}
  }
}
`;
      return startNginx('nginx', dir, conf);
    },
    pid: nginxWorker,
  },

  caddy: {
    cache: false, // Caddy has no response cache of its own (a plugin, cache-handler, would be needed)
    start(tmp, port, origins, tls) {
      const dir = join(tmp, 'caddy');
      mkdirSync(dir, { recursive: true });
      const caddyfile = `{
	admin off
	auto_https off
	storage file_system ${dir}/data
	log {
		output stderr
		level ERROR
	}
}

http://127.0.0.1:${port} {
	bind 127.0.0.1
	handle /static/* {
		root * ${tmp}
		file_server
	}
	reverse_proxy /ws/* 127.0.0.1:${origins.ws}
${[1, 6]
  .map(
    (level) => `	handle_path /gz${level}/* {
		encode {
			gzip ${level}
		}
		reverse_proxy 127.0.0.1:${origins.http} {
			transport http {
				keepalive 90s
				keepalive_idle_conns 128
				keepalive_idle_conns_per_host 64
			}
		}
	}
`,
  )
  .join('')}	reverse_proxy 127.0.0.1:${origins.http} {
		transport http {
			keepalive 90s
			keepalive_idle_conns 128
			keepalive_idle_conns_per_host 64
		}
	}
}
${
  tls
    ? `
https://127.0.0.1:${tls.port} {
	bind 127.0.0.1
	tls ${tls.cert} ${tls.key}
	reverse_proxy 127.0.0.1:${origins.http} {
		transport http {
			keepalive 90s
			keepalive_idle_conns 128
			keepalive_idle_conns_per_host 64
		}
	}
}
`
    : ''
}`;
      writeFileSync(join(dir, 'Caddyfile'), caddyfile);
      const env = { ...process.env, GOMAXPROCS: '1', HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
      return start('caddy', 'caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
        env,
        logFile: join(dir, 'stderr.log'),
        cwd: dir,
      });
    },
    pid: (h) => h.pid,
  },

  portico: porticoWith(1),
  'portico-2w': porticoWith(2),
  // The same Portico with its request counting off (PORTICO_METRICS=off): what metrics cost.
  'portico-nometrics': porticoWith(1, 'portico-nometrics', repo, { PORTICO_METRICS: 'off' }),
  // Another build of Portico side by side (BENCH_PORTICO_BEFORE: a checkout with dist/ built,
  // e.g. a `git worktree` of the commit before a change), as one more proxy column.
  ...(process.env.BENCH_PORTICO_BEFORE ? { 'portico-before': porticoWith(1, 'portico-before', process.env.BENCH_PORTICO_BEFORE) } : {}),

  'http-proxy': {
    files: false,
    tls: false,
    compress: false,
    cache: false,
    start(tmp, port, origins) {
      const dir = join(tmp, 'http-proxy');
      mkdirSync(dir, { recursive: true });
      const script = join(repo, 'bench', 'http-proxy-peer.mjs');
      return start('http-proxy', process.execPath, [script, String(port), String(origins.http), String(origins.ws)], {
        logFile: join(dir, 'stderr.log'),
        cwd: repo,
      });
    },
    pid: (h) => h.pid,
  },
};

/**
 * Portico with `workers` processes; with more than one, the primary and its workers are
 * measured together. `checkout`: another build's repository (its dist/), for a side-by-side run.
 * `env`: its environment's additions (PORTICO_METRICS=off: what metrics cost).
 * Only one process serves the response cache (`workers: 1`): with more, the cache scenarios (k*)
 * leave it out.
 */
function porticoWith(workers, name = workers === 1 ? 'portico' : `portico-${workers}w`, checkout = repo, env = {}) {
  const cached = workers === 1;
  return {
    ...(cached ? {} : { cache: false }),
    start(tmp, port, origins, tls) {
      const dir = join(tmp, name);
      mkdirSync(dir, { recursive: true });
      // The admin API on a unix socket in the temp dir (BENCH_SCRAPE_MS scrapes /metrics there);
      // another build may not know the key.
      const admin = checkout === repo ? `admin: { listen: "unix:${join(dir, 'admin.sock')}" }\n` : '';
      // (k1-k3) the same cache as nginx's: one zone, levels 1:2, keys_zone 10m, inactive 1h
      // (Portico's hot tier, memory: 16MiB, is its default), valid 200 1h, lock.
      const cache = cached
        ? `cache:
  bench: { path: "${join(dir, 'cache')}", levels: "1:2", keys_zone: 10m, inactive: 1h }
`
        : '';
      const cacheRoutes = cached
        ? `      - path: /cache/
        strip_prefix: true
        proxy:
          to: "127.0.0.1:${origins.http}"
          keepalive_connections: 64
        cache: { zone: bench, valid: { "200": 1h }, lock: true, status_header: X-Cache-Status }
${
  origins.count
    ? `      - path: /lock/
        strip_prefix: true
        proxy: { to: "127.0.0.1:${origins.count}" }
        cache: { zone: bench, lock: true, status_header: X-Cache-Status }
`
    : ''
}`
        : '';
      const yaml = `access_log: false
${admin}log_level: error
shutdown_timeout: 2s
workers: ${workers}
${cache}servers:
  - listen: ["127.0.0.1:${port}"]
    routes:
      - path: /static/
        files: { root: "${tmp}" }
      - path: /ws/
        proxy:
          to: "127.0.0.1:${origins.ws}"
${[1, 6]
  .map(
    (level) => `      - path: /gz${level}/
        strip_prefix: true
        compress: { codings: [gzip], types: [application/json], min_length: 20, level: { gzip: ${level} } }
        proxy:
          to: "127.0.0.1:${origins.http}"
          keepalive_connections: 64
`,
  )
  .join('')}${cacheRoutes}      - path: /
        proxy:
          to: "127.0.0.1:${origins.http}"
          keepalive_connections: 64
${
  tls
    ? `  - listen: ["127.0.0.1:${tls.port}"]
    tls: { cert: "${tls.cert}", key: "${tls.key}" }
    routes:
      - path: /
        proxy:
          to: "127.0.0.1:${origins.http}"
          keepalive_connections: 64
`
    : ''
}`;
      writeFileSync(join(dir, 'portico.yaml'), yaml);
      const main = join(checkout, 'dist', 'src', 'cli', 'main.js');
      return start(name, process.execPath, [main, 'run', '-c', join(dir, 'portico.yaml')], {
        logFile: join(dir, 'stderr.log'),
        cwd: dir,
        env: { ...process.env, ...env },
      });
    },
    // `portico run` restarts itself once with glibc's malloc tuned (src/cli/malloc-relaunch.ts):
    // the launcher, the server and (portico-2w) its workers are all measured, summed.
    pid: (h) => [h.pid, ...descendantsOf(h.pid)],
  };
}

