// Regexes from the config cannot freeze the server (issue 12, item 6): a location (`~` and `~*`),
// a rewrite, a map key and a server name that a backtracking engine takes exponential time on
// get a crafted request answered, and a concurrent request on another route is not held up.
// Before the fix `~ ^/api/(\w+-?)+/$` and a 39-byte path stopped every client for 64 s.
// Portico runs as `portico run` (its relaunched child, and cluster workers), so that a frozen
// server fails the bounded waits here instead of freezing the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childrenOf, killAfter, startCli } from '../helpers/cli.js';
import { http, within } from '../proxy/support.js';

/** Generous: an answer in linear time takes milliseconds; a backtracking one, years. */
const BOUND_MS = 5000;
/** 4,000 a's and no match: 2^4000 ways for a backtracking engine. */
const RUN = 'a'.repeat(4000);

function config(workers: number): string {
  return `workers: ${workers}
access_log: false
maps:
  kind:
    source: "{header.X-Kind}"
    values:
      "~^(a|a)*$": "aa"
    default: none
servers:
  - listen: ["127.0.0.1:0"]
    hosts: ["~^(\\\\w+\\\\.?)+\\\\.example$"]
    rewrite:
      - { match: "^/old/(\\\\d+)+x$", to: "/ok/{re.1}" }
    routes:
      - path: "~ ^/api/(\\\\w+-?)+/$"
        respond: { body: "api" }
      - path: "~* ^/CI/(\\\\w+-?)+/$"
        respond: { body: "ci" }
      - path: "/ok"
        respond: { body: "ok" }
        response_headers: { set: { X-Kind: "{map.kind}" } }
      - path: "/"
        respond: { status: 404, body: "none" }
`;
}

async function startServer(t: { after: (fn: () => Promise<void> | void) => void }, workers: number) {
  const dir = await mkdtemp(join(tmpdir(), 'portico-regex-dos-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'portico.yaml'), config(workers));
  const started = await startCli(['run', '-c', join(dir, 'portico.yaml')], dir);
  // A frozen server does not stop on a signal: every process is killed by its PID.
  killAfter(t, () => [started.child.pid!, started.pid, ...childrenOf(started.pid)]);
  return { url: `http://127.0.0.1:${started.port}`, stderr: started.stderr };
}

/** The hostile request gets its answer, and a normal one sent while it runs is answered too. */
async function hostileAlongsideNormal(
  url: string,
  hostile: { path: string; headers?: Record<string, string> },
): Promise<{ hostile: Awaited<ReturnType<typeof http>>; normal: Awaited<ReturnType<typeof http>> }> {
  const bad = within(http(url + hostile.path, { headers: hostile.headers ?? {} }), BOUND_MS, `the hostile request ${hostile.path.slice(0, 30)}...`);
  const normal = within(http(url + '/ok'), BOUND_MS, 'a normal request sent alongside the hostile one');
  const [h, n] = await Promise.all([bad, normal]);
  assert.equal(n.status, 200);
  assert.equal(n.body.toString(), 'ok');
  return { hostile: h, normal: n };
}

// One server per case: a case that froze it must not make the next one fail.
const cases: { name: string; path: string; headers?: Record<string, string>; expect: (r: Awaited<ReturnType<typeof http>>) => void }[] = [
  { name: 'a ~ location', path: `/api/${RUN}!`, expect: (r) => assert.equal(r.status, 404) }, // no match: the next route, as nginx
  { name: 'a ~* location', path: `/cI/${RUN.toUpperCase()}!`, expect: (r) => assert.equal(r.status, 404) },
  { name: 'a rewrite', path: `/old/${'1'.repeat(4000)}!`, expect: (r) => assert.equal(r.status, 404) },
  { name: 'a map key (against a request header)', path: '/ok', headers: { 'X-Kind': `${RUN}!` }, expect: (r) => assert.equal(r.headers['x-kind'], 'none') },
  { name: 'a server name (against the Host header)', path: '/ok', headers: { Host: `${RUN}!` }, expect: (r) => assert.equal(r.status, 200) }, // the default server
];

for (const [i, c] of cases.entries()) {
  test(`regex DoS: ${c.name} that backtracks exponentially answers a crafted request at once and stalls nobody`, async (t) => {
    const { url, stderr } = await startServer(t, 1);
    if (i === 0) {
      // The patterns keep their meaning.
      assert.equal((await http(url + '/api/ab-cd/')).body.toString(), 'api');
      assert.equal((await http(url + '/ci/Ab-C/')).body.toString(), 'ci');
      assert.equal((await http(url + '/CI/ab/')).body.toString(), 'ci');
      assert.equal((await http(url + '/old/12x')).body.toString(), 'ok');
      assert.equal((await http(url + '/ok', { headers: { 'X-Kind': 'aaaa' } })).headers['x-kind'], 'aa');
      assert.equal((await http(url + '/ok', { headers: { Host: 'www.example' } })).body.toString(), 'ok');
      // `run` tells about each such pattern when it starts, as `check` does.
      assert.match(stderr(), /location \\"~ \^\/api\/\(\\\\w\+-\?\)\+\/\$\\" could take exponential time/);
    }
    const { hostile } = await hostileAlongsideNormal(url, c);
    c.expect(hostile);
  });
}

test('regex DoS: cluster workers (workers: 2) are protected as well', async (t) => {
  const { url } = await startServer(t, 2);
  // Two rounds: the second may well land on the other worker.
  for (let i = 0; i < 2; i++) {
    const { hostile } = await hostileAlongsideNormal(url, { path: `/api/${RUN}!` });
    assert.equal(hostile.status, 404);
  }
});
