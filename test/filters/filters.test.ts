/**
 * Response filters (src/filters/) see every response of their route: the head (after the
 * filters before them, here response_headers), each body chunk and the end, whoever wrote it:
 * the proxy, the files handler, or Portico itself (respond, redirect, error pages). Over
 * HTTP/1.1 on the lean path and on node's server, and over HTTP/2. A recording filter is put
 * behind each route's own filters on the compiled routes, and real listeners serve them.
 * A route without filters hands its handler the protocol's writer itself: nothing in between.
 */
import { metricsEnabled } from '../../src/metrics/stats.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { validateConfig } from '../../src/config/load.js';
import { compile, type CompiledConfig, type ListenerPlan, type Route } from '../../src/compile/compile.js';
import { httpListener, tlsListener, type Listener } from '../../src/server/listeners.js';
import { TlsRuntime } from '../../src/tls/runtime.js';
import { silentLog } from '../../src/log/error-log.js';
import { FilterWriter, composeFilters, type ResponseFilter } from '../../src/filters/filter.js';
import type { Exchange } from '../../src/http/exchange.js';
import type { ResponseWriter } from '../../src/http/response-writer.js';
import { LeanResponse } from '../../src/server/lean/lean-response.js';
import { leanStats } from '../../src/server/lean/lean-connection.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { createTestCa, h2Request, writePair } from '../helpers/tls.js';
import { closedPort, RawClient } from '../proxy/support.js';

/** What one response looked like from inside the filter chain. */
interface Seen {
  head: { status: number; headers: string[] } | undefined;
  chunks: Buffer[];
  ended: boolean;
}

/** Responses seen, by request target and protocol ("h1" or "h2"). */
const seen = new Map<string, Seen>();

class Recorder extends FilterWriter {
  constructor(
    inner: ResponseWriter,
    readonly record: Seen,
  ) {
    super(inner);
  }

  override writeHead(status: number, reason: string, headers: string[]): void {
    this.record.head = { status, headers: [...headers] };
    super.writeHead(status, reason, headers);
  }

  override write(chunk: Buffer): boolean {
    this.record.chunks.push(Buffer.from(chunk));
    return super.write(chunk);
  }

  override end(chunk?: Buffer | string): void {
    if (chunk !== undefined && chunk.length > 0) this.record.chunks.push(Buffer.from(chunk));
    this.record.ended = true;
    super.end(chunk);
  }
}

const recorder: ResponseFilter = (inner, ex) => {
  const record: Seen = { head: undefined, chunks: [], ended: false };
  seen.set(`${ex.req.httpVersionMajor === 2 ? 'h2' : 'h1'} ${ex.req.url}`, record);
  return new Recorder(inner, record);
};

const FILE = 'static file body, a little over one line long\n';

function routes(upstream: TestUpstream, down: number) {
  return [
    { path: '/up/', proxy: { to: upstream.address }, response_headers: { set: { 'X-Route': 'proxy' } } },
    { path: '/static/', files: { root: '.' }, response_headers: { set: { 'X-Route': 'files' } } },
    { path: '= /gen', respond: { status: 201, body: 'made here\n' }, response_headers: { set: { 'X-Route': 'respond' } } },
    { path: '= /redir', redirect: { to: '/elsewhere', status: 302 as const }, response_headers: { set: { 'X-Route': 'redirect' } } },
    { path: '/down/', proxy: { to: `127.0.0.1:${down}` }, response_headers: { set: { 'X-Route': 'error' } } },
    { path: '= /bare', respond: { body: 'no filters\n' } },
  ];
}

/** Every route of the plan's default host gets the recorder behind its own filters. */
function recordAll(plan: ListenerPlan, host: string): void {
  for (const path of ['/up/x', '/static/a.txt', '/gen', '/redir', '/down/x']) {
    const found = plan.hosts.match(host)!.locations.match(path, undefined as never);
    assert.ok(found && 'route' in found, path);
    const route = found.route as { filter: ResponseFilter | null };
    route.filter = composeFilters(route.filter ? [route.filter, recorder] : [recorder]);
  }
}

function routeAt(plan: ListenerPlan, host: string, path: string): Route {
  const found = plan.hosts.match(host)!.locations.match(path, undefined as never);
  assert.ok(found && 'route' in found, path);
  return found.route;
}

let dir: string;
let upstream: TestUpstream;
let ca: string;
const compiled: CompiledConfig[] = [];
const listeners: Listener[] = [];
let leanPort: number;
let nodePort: number;
let h2Port: number;
let runtime: TlsRuntime | undefined;

function listenerDeps(client: ReturnType<typeof validateConfig>['client']) {
  return {
    accessLog: undefined,
    errorLog: silentLog(),
    inFlight: { count: 0, onIdle: null },
    limits: { maxHeaders: client.max_headers, maxUriLength: client.max_uri_length },
    client,
    tunnels: new Set<Duplex>(),
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-filters-'));
  await mkdir(join(dir, 'site', 'static'), { recursive: true });
  await writeFile(join(dir, 'site', 'static', 'a.txt'), FILE);
  // The proxied body comes in two pieces, a moment apart: the filter sees them one by one.
  upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('first piece, ');
    setTimeout(() => res.end('second piece\n'), 50);
  });
  const down = await closedPort();
  const log = silentLog();

  const plainInput: PorticoConfigInput = { access_log: false, servers: [{ listen: ['127.0.0.1:0'], routes: routes(upstream, down) }] };
  const plain = validateConfig(plainInput, join(dir, 'site', 'plain.yaml'));
  const plainCompiled = compile(plain, { log }, join(dir, 'site', 'plain.yaml'));
  compiled.push(plainCompiled);
  const plainPlan = plainCompiled.listeners[0]!;
  recordAll(plainPlan, 'a.test');
  // The same compiled routes behind two listeners: the lean path on, and off (node's server only).
  const lean = httpListener(plainPlan, listenerDeps(plain.client));
  process.env.PORTICO_LEAN_H1 = '0';
  const nodeOnly = httpListener(plainPlan, listenerDeps(plain.client));
  delete process.env.PORTICO_LEAN_H1;
  listeners.push(lean, nodeOnly);
  leanPort = (await lean.listen()).port;
  nodePort = (await nodeOnly.listen()).port;

  const testCa = await createTestCa();
  ca = testCa.pem;
  const pair = await writePair(dir, 'site', await testCa.issue(['localhost']));
  const tlsInput: PorticoConfigInput = { access_log: false, servers: [{ listen: ['127.0.0.1:0'], hosts: ['localhost'], tls: pair, routes: routes(upstream, down) }] };
  const tls = validateConfig(tlsInput, join(dir, 'site', 'tls.yaml'));
  const tlsCompiled = compile(tls, { log }, join(dir, 'site', 'tls.yaml'));
  compiled.push(tlsCompiled);
  const tlsPlan = tlsCompiled.listeners[0]!;
  recordAll(tlsPlan, 'localhost');
  runtime = await TlsRuntime.start(tlsCompiled, { log, dataDir: join(dir, 'data'), now: Date.now });
  const h2 = tlsListener(tlsPlan, listenerDeps(tls.client), { sni: runtime.sniFor(tlsPlan) });
  listeners.push(h2);
  h2Port = (await h2.listen()).port;
});

after(async () => {
  for (const l of listeners) {
    l.stopAccepting();
    l.destroyAll();
  }
  runtime?.close();
  for (const c of compiled) {
    c.pools.destroy();
    c.groups.close();
  }
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

/** One GET on a fresh HTTP/1.1 connection (kept alive: the lean path takes it when it is on). */
async function h1Get(port: number, path: string): Promise<{ status: number; body: string }> {
  const client = await RawClient.connect(port);
  try {
    client.write(`GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
    const res = await client.response();
    return { status: res.status, body: res.body.toString() };
  } finally {
    client.destroy();
  }
}

const CASES: { path: string; status: number; body: string | RegExp; route: string; chunks?: number }[] = [
  { path: '/up/x', status: 200, body: 'first piece, second piece\n', route: 'proxy', chunks: 2 },
  { path: '/static/a.txt', status: 200, body: FILE, route: 'files' },
  { path: '/gen', status: 201, body: 'made here\n', route: 'respond' },
  { path: '/redir', status: 302, body: '', route: 'redirect' },
  { path: '/down/x', status: 502, body: '502 Bad Gateway\n', route: 'error' },
];

/** The recorder saw the head the client got (with the route's header edit before it), every body byte in order, and the end. */
function checkSeen(key: string, c: (typeof CASES)[number], clientBody: string): void {
  const record = seen.get(key);
  assert.ok(record, `${key}: the filter saw the response`);
  assert.equal(record.head?.status, c.status, key);
  const route = record.head!.headers.findIndex((h, i) => i % 2 === 0 && h === 'X-Route');
  assert.ok(route >= 0 && record.head!.headers[route + 1] === c.route, `${key}: the head after response_headers`);
  assert.equal(Buffer.concat(record.chunks).toString(), clientBody, `${key}: the body, chunk by chunk`);
  assert.ok(record.chunks.length >= (c.chunks ?? (clientBody === '' ? 0 : 1)), `${key}: ${record.chunks.length} chunks`);
  assert.equal(record.ended, true, `${key}: the end`);
}

for (const [name, port, lean] of [
  ['HTTP/1.1 on the lean path', () => leanPort, true],
  ["HTTP/1.1 on node's server", () => nodePort, false],
] as const) {
  test(`a filter sees head, body chunks and end of proxied, static and generated responses: ${name}`, async () => {
    for (const c of CASES) {
      seen.clear();
      const before = leanStats.requests;
      const res = await h1Get(port(), c.path);
      assert.equal(res.status, c.status, c.path);
      assert.equal(res.body, c.body, c.path);
      assert.equal(leanStats.requests - before, lean ? 1 : 0, `${c.path}: served on the ${lean ? 'lean path' : 'node server'}`);
      checkSeen(`h1 ${c.path}`, c, res.body);
    }
  });
}

test('a filter sees head, body chunks and end of proxied, static and generated responses: HTTP/2', async () => {
  for (const c of CASES) {
    seen.clear();
    const res = await h2Request(h2Port, ca, { path: c.path });
    assert.equal(res.protocol, 'HTTP/2');
    assert.equal(res.status, c.status, c.path);
    assert.equal(res.body, c.body, c.path);
    checkSeen(`h2 ${c.path}`, c, res.body);
  }
});

test('a route without filters but metrics: its handler writes to the protocol’s writer itself, nothing wrapped around it', async () => {
  const plan = compiled[0]!.listeners[0]!;
  const route = routeAt(plan, 'a.test', '/bare') as { filter: ResponseFilter | null; handler: Route['handler'] };
  // Its only filter is the metrics filter (PORTICO_METRICS=off: none), which listens for the
  // end of the response and wraps nothing (src/filters/metrics.ts).
  assert.equal(route.filter === null, !metricsEnabled);
  const handler = route.handler;
  const writers: { same: boolean; lean: boolean }[] = [];
  route.handler = {
    handle(ex: Exchange) {
      writers.push({ same: ex.writer === ex.base, lean: ex.writer instanceof LeanResponse });
      handler.handle(ex);
    },
  };
  try {
    assert.equal((await h1Get(leanPort, '/bare')).body, 'no filters\n');
    assert.equal((await h1Get(nodePort, '/bare')).body, 'no filters\n');
  } finally {
    route.handler = handler;
  }
  assert.deepEqual(writers, [
    { same: true, lean: true },
    { same: true, lean: false },
  ]);
});
