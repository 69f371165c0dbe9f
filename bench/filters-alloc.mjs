#!/usr/bin/env node
// What a route's response filters cost per request, in heap allocations, and that a route
// without filters costs nothing for them (docs/benchmarks.md, "Response filters"). Portico
// runs in this process with two routes answering the same body, one without filters and one
// with a response_headers edit (the headers filter); a child process sends N keep-alive GETs
// to each in turn (the lean path takes them). V8's sampling heap profiler records what this
// process allocates meanwhile; allocations are attributed to the function that made them.
// Reported per request: all bytes sampled, those made in src/filters/ and in dispatch's use()
// (which wraps a request's writer), and in the two routes' difference.
//   npx tsc -p . && node bench/filters-alloc.mjs [requests per route, default 20000]
//   BENCH_DIST=/path/to/other/dist   measure another build (a commit before, built in a worktree)
import { Session } from 'node:inspector/promises';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.env.BENCH_DIST ?? new URL('../dist', import.meta.url).pathname);
const load$ = (p) => import(pathToFileURL(resolve(dist, p)).href);
const { startServer } = await load$('src/server/server.js');
const { validateConfig } = await load$('src/config/load.js');
const { silentLog } = await load$('src/log/error-log.js');

const N = Number(process.argv[2]) || 20_000;
const body = 'x'.repeat(1024);
const config = validateConfig(
  {
    access_log: false,
    servers: [
      {
        listen: ['127.0.0.1:0'],
        routes: [
          { path: '= /plain', respond: { body } },
          { path: '= /headers', respond: { body }, response_headers: { set: { 'X-Frame-Options': 'DENY' } } },
        ],
      },
    ],
  },
  'filters-alloc',
);
const server = await startServer(config, { errorLog: silentLog(), accessLog: false });
const port = server.addresses[0].port;

/** N sequential GETs on one keep-alive connection, from a child process (its allocations are not ours). */
function load(path, n) {
  const script = `
    const net = require('node:net');
    const s = net.connect(${port}, '127.0.0.1');
    const req = 'GET ${path} HTTP/1.1\\r\\nHost: bench\\r\\n\\r\\n';
    let left = ${n}, buf = '';
    s.on('connect', () => s.write(req));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\\r\\n\\r\\n');
        if (end < 0) return;
        const len = Number(/content-length: (\\d+)/i.exec(buf.slice(0, end))[1]);
        if (buf.length < end + 4 + len) return;
        buf = buf.slice(end + 4 + len);
        if (--left === 0) return s.end();
        s.write(req);
      }
    });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load exited ${code}`))));
  });
}

const session = new Session();
session.connect();

async function sampled(path) {
  await load(path, 2000); // warm up
  await session.post('HeapProfiler.startSampling', { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await load(path, N);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const by = { total: 0, filters: 0, use: 0 };
  const walk = (node) => {
    const bytes = node.selfSize;
    by.total += bytes;
    const { url, functionName } = node.callFrame;
    if (url.includes('/src/filters/')) by.filters += bytes;
    if (url.includes('/src/server/dispatch.js') && functionName === 'use') by.use += bytes;
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return by;
}

const rows = [];
for (const round of [1, 2, 3]) {
  for (const path of ['/plain', '/headers']) {
    const by = await sampled(path);
    rows.push({ round, path, perRequest: (by.total / N).toFixed(0), filters: (by.filters / N).toFixed(1), use: (by.use / N).toFixed(1) });
  }
}
console.log(`${dist}: ${N} requests per route and round; bytes allocated per request (V8 sampling heap profiler, 64-byte interval)`);
console.log('| round | route | all | in src/filters/ | in dispatch use() |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.round} | ${r.path === '/plain' ? 'no filters' : 'response_headers'} | ${r.perRequest} | ${r.filters} | ${r.use} |`);
session.disconnect();
await server.close();
