#!/usr/bin/env node
// Micro-benchmark of the validating head serializer (src/http/head.ts) on the proxied-GET hot
// path: the upstream request head of a GET, as the upstream client wrote it before (plain
// concatenation, inlined below) and as it writes it now (requestHead: each name and value
// checked). Each head is written into a Buffer as latin1, as the socket write does, so the
// rope is flattened in both. CPU time (user + system) per head, the best of 7 runs of 1M heads
// (the machine is shared: the minimum is the least disturbed run).
//   npx tsc -p . && node bench/head.mjs
import { requestHead, responseHead, checkFields } from '../dist/src/http/head.js';
import { validateHeaderName, validateHeaderValue } from 'node:http';

/** What wrk sends (Host only) plus the four forwarding headers Portico adds. */
const wrk = ['Host', '127.0.0.1:8080', 'X-Forwarded-For', '127.0.0.1', 'X-Real-IP', '127.0.0.1', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Host', '127.0.0.1:8080'];
/** A browser's GET to a Django app, with a session cookie. */
const browser = [
  'Host', 'app.example.test',
  'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Language', 'en-US,en;q=0.9',
  'Accept-Encoding', 'gzip, deflate, br',
  'Cookie', 'sessionid=abcdefghijklmnopqrstuvwxyz012345; csrftoken=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef',
  'Referer', 'https://app.example.test/dashboard/',
  'X-Forwarded-For', '127.0.0.1', 'X-Real-IP', '127.0.0.1', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Host', 'app.example.test',
];

/** The upstream client's head before the serializer (src/upstream/h1/connection.ts send()). */
function concatenated(method, path, h) {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
  return head + '\r\n';
}

/** The lean response's checks before: node's validators per field (node's ServerResponse runs the same). */
function nodeChecks(h) {
  for (let i = 0; i < h.length; i += 2) {
    validateHeaderName(h[i]);
    validateHeaderValue(h[i], h[i + 1]);
  }
  return h.length;
}

const out = Buffer.allocUnsafe(8192);
const cases = {
  'request head, concatenated (before)': (h) => out.write(concatenated('GET', '/api/items/42?page=2', h), 'latin1'),
  'request head, requestHead (after)': (h) => out.write(requestHead('GET', '/api/items/42?page=2', h), 'latin1'),
  'response head, concatenated (tunnel before)': (h) => out.write(concatenated('HTTP/1.1', '200', h), 'latin1'),
  'response head, responseHead': (h) => out.write(responseHead(200, 'OK', h), 'latin1'),
  'field checks: node validateHeaderName/Value': nodeChecks,
  'field checks: head.ts checkFields': (h) => (checkFields(h), h.length),
};

const RUNS = 7;
const N = 1_000_000;
let sink = 0;
function measure(fn, h) {
  for (let i = 0; i < 100_000; i++) sink += fn(h);
  let best = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < N; i++) sink += fn(h);
    const u = process.cpuUsage(t);
    best = Math.min(best, ((u.user + u.system) * 1000) / N);
  }
  return best;
}

console.log(`ns per head (CPU time, best of ${RUNS} x ${N})`);
console.log(`${''.padEnd(46)}${'wrk (5 fields)'.padStart(16)}${'browser (12)'.padStart(14)}`);
for (const [name, fn] of Object.entries(cases)) {
  console.log(`${name.padEnd(46)}${measure(fn, wrk).toFixed(0).padStart(16)}${measure(fn, browser).toFixed(0).padStart(14)}`);
}
if (sink === 0) console.log('');
