// `workers: 2`: the listening socket is shared, a worker that dies is replaced while the
// others keep serving, and SIGTERM stops them all with exit code 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { childrenOf, startCli } from '../helpers/cli.js';

async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('two workers share the port, a killed worker is replaced, SIGTERM exits 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-workers-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'portico.yaml');
  const log = join(dir, 'access.log');
  await writeFile(
    file,
    `workers: 2\naccess_log: { output: "${log}" }\nservers:\n  - listen: ["127.0.0.1:0"]\n    routes:\n      - { path: /, respond: { body: "ok" } }\n`,
  );
  const portico = await startCli(['run', '-c', file]);
  t.after(() => {
    if (portico.child.exitCode === null) portico.child.kill('SIGKILL');
  });
  const primary = portico.pid; // the launcher's child (src/cli/malloc-relaunch.ts)
  const workers = await until('two workers', () => (childrenOf(primary).length === 2 ? childrenOf(primary) : undefined));
  const get = async () => (await fetch(`http://127.0.0.1:${portico.port}/`, { headers: { connection: 'close' } })).text();
  // Both must be in rotation before one dies: with no worker left listening, node's primary
  // closes the shared socket until a new worker listens.
  await until('both workers listening', () => (portico.stderr().match(/"msg":"listening"/g) ?? []).length >= 2);
  assert.equal(await get(), 'ok');

  process.kill(workers[0]!, 'SIGKILL');
  // Once the primary has taken the dead worker out of rotation (it logs then), the survivor
  // answers everything while the replacement starts.
  await until('the primary to notice the dead worker', () => /worker died; starting a new one/.test(portico.stderr()));
  for (let i = 0; i < 20; i++) assert.equal(await get(), 'ok');
  const replaced = await until('a replacement worker', () => {
    const now = childrenOf(primary);
    return now.length === 2 && !now.includes(workers[0]!) ? now : undefined;
  });
  assert.ok(replaced.includes(workers[1]!), 'the surviving worker was left alone');

  portico.child.kill('SIGTERM');
  const [code] = await once(portico.child, 'exit');
  assert.equal(code, 0, portico.stderr());
  assert.deepEqual(childrenOf(primary), []);
  // Every access-log line is whole: the workers' writes never interleave mid-line.
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 21);
  for (const line of lines) assert.match(line, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 2 "-" "[^"]*"$/);
});
