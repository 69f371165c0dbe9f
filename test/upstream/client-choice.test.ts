// Issue 13, item 4: the upstream client is chosen once, at start. With node's parser usable,
// Portico runs on it (and the lean path serves plain GETs); without it — here forced with
// PORTICO_UPSTREAM_CLIENT=undici — upstream connections go through undici, the lean path
// answers none of them (it only hands each connection to node's server), one log line says so,
// and requests are served the same. Each case runs in a process of its own, as the choice is
// made per process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./client-choice-child.js', import.meta.url));

interface ChildReport {
  upstreamClient: string;
  warnings: string[];
  statuses: number[];
  lean: number;
  connections: number;
  bodies: string[];
}

/** @param preload a module run first (node --import) that takes node's parser away or changes it. */
function runChild(env: Record<string, string | undefined>, preload?: string): Promise<ChildReport> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const args = preload ? ['--import', new URL(preload, import.meta.url).href, CHILD] : [CHILD];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env: childEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildReport);
    });
  });
}

const EXPECTED_BODIES = ['GET /get/0/0 ', 'GET /get/0/1 ', 'GET /get/0/2 ', 'POST /post/0 hello', 'GET /get/1/0 ', 'GET /get/1/1 ', 'GET /get/1/2 ', 'POST /post/1 hello'];

test("node's parser usable: node's client, the lean path, no word about undici", async () => {
  const r = await runChild({ PORTICO_UPSTREAM_CLIENT: undefined, PORTICO_LEAN_H1: undefined });
  assert.equal(r.upstreamClient, 'node');
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.statuses, [200, 200, 200, 200, 200, 200, 200, 200]);
  assert.equal(r.lean, 6, 'the GETs were answered on the lean path');
  assert.deepEqual(r.bodies, EXPECTED_BODIES);
});

test("PORTICO_UPSTREAM_CLIENT=undici: undici carries the requests, the lean path answers none (node's server does), one log line says why", async () => {
  const r = await runChild({ PORTICO_UPSTREAM_CLIENT: 'undici', PORTICO_LEAN_H1: undefined });
  assert.equal(r.upstreamClient, 'undici');
  assert.deepEqual(r.warnings, ["node's HTTP parser is not usable (PORTICO_UPSTREAM_CLIENT=undici); upstream connections use undici"]);
  assert.deepEqual(r.statuses, [200, 200, 200, 200, 200, 200, 200, 200]);
  assert.equal(r.lean, 0, 'no request on the lean path');
  assert.deepEqual(r.bodies, EXPECTED_BODIES);
  // Keep-alive to the upstream: far fewer connections than requests (one per Portico, as each
  // request waits for the one before).
  assert.ok(r.connections <= 2, `${r.connections} upstream connections for 8 requests`);
});

test('an unknown PORTICO_UPSTREAM_CLIENT value is named in a warning, and ignored', async () => {
  const r = await runChild({ PORTICO_UPSTREAM_CLIENT: 'undcii', PORTICO_LEAN_H1: undefined });
  assert.equal(r.upstreamClient, 'node');
  assert.deepEqual(r.warnings, ['PORTICO_UPSTREAM_CLIENT=undcii is not a client Portico knows ("undici" forces the fallback); ignored']);
  assert.deepEqual(r.statuses, [200, 200, 200, 200, 200, 200, 200, 200]);
});

test("a node without _http_common's HTTPParser: undici carries the requests, one log line says why", async () => {
  const r = await runChild({ PORTICO_UPSTREAM_CLIENT: undefined, PORTICO_LEAN_H1: undefined }, './parser-missing.js');
  assert.equal(r.upstreamClient, 'undici');
  assert.deepEqual(r.warnings, ["node's HTTP parser is not usable (_http_common has no HTTPParser); upstream connections use undici"]);
  assert.deepEqual(r.statuses, [200, 200, 200, 200, 200, 200, 200, 200]);
  assert.equal(r.lean, 0);
  assert.deepEqual(r.bodies, EXPECTED_BODIES);
});

test('a node whose parser behaves otherwise (the self-test fails): undici carries the requests, the log line names the difference', async () => {
  const r = await runChild({ PORTICO_UPSTREAM_CLIENT: undefined, PORTICO_LEAN_H1: undefined }, './parser-changed.js');
  assert.equal(r.upstreamClient, 'undici');
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /^node's HTTP parser is not usable \(self-test failed: execute\(\) after onHeadersComplete returned 2: .*\); upstream connections use undici$/);
  assert.deepEqual(r.statuses, [200, 200, 200, 200, 200, 200, 200, 200]);
  assert.equal(r.lean, 0);
  assert.deepEqual(r.bodies, EXPECTED_BODIES);
});
