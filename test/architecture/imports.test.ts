/**
 * The layout of src/ (docs/architecture.md): which folder may import which. Every import of
 * every file under src/ counts, type-only ones included: a type import is still a dependency
 * of the code that reads it. Nothing imports upward, only cli/ and index.ts import server/,
 * and no two folders depend on each other, directly or round a longer cycle.
 *
 * The table is written here and in docs/architecture.md; a test checks they are the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importsOf } from './imports.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const src = join(root, 'src');

/**
 * Each folder (or root file) of src/ and what it may import besides itself and node:* / npm
 * packages, bottom to top: each imports only what is listed before it.
 */
export const ALLOWED: ReadonlyMap<string, readonly string[]> = new Map([
  ['errors.ts', []],
  ['http', ['errors.ts']],
  ['regex', []],
  ['config', ['http', 'regex', 'errors.ts']],
  ['metrics', ['http']],
  ['log', ['http', 'config', 'metrics', 'errors.ts']],
  ['limits', ['http', 'log']],
  ['files', ['http', 'config']],
  ['cache', ['http', 'config', 'log', 'files']],
  ['filters', ['http', 'cache', 'metrics']],
  ['buffering', ['http', 'log', 'limits']],
  ['shield', ['http', 'config', 'log', 'limits', 'metrics']],
  ['upstream', ['http', 'config', 'log']],
  ['proxy', ['http', 'upstream', 'buffering', 'limits', 'log', 'metrics']],
  ['handlers', ['http', 'config', 'proxy', 'files', 'upstream', 'buffering', 'limits', 'log', 'cache', 'metrics']],
  ['compile', ['config', 'http', 'regex', 'handlers', 'shield', 'filters', 'upstream', 'proxy', 'buffering', 'log', 'cache', 'errors.ts']],
  ['tls', ['http', 'config', 'compile', 'log', 'errors.ts']],
  ['admin', ['http', 'config', 'log', 'upstream', 'metrics', 'errors.ts']],
  ['server', ['compile', 'config', 'http', 'log', 'proxy', 'tls', 'shield', 'buffering', 'limits', 'regex', 'cache', 'metrics', 'admin', 'errors.ts']],
  ['cli', ['server', 'config', 'compile', 'tls', 'shield', 'log', 'regex', 'admin', 'errors.ts']],
  ['index.ts', ['server', 'config', 'compile', 'log', 'errors.ts']],
]);

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) tsFiles(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** "proxy" for src/proxy/relay.ts, "config" for src/config/adapters/nginx/x.ts, "index.ts" for src/index.ts. */
function folderOf(file: string): string {
  return relative(src, file).split('/')[0]!;
}

interface Edge {
  from: string;
  to: string;
  /** "proxy/relay.ts imports ../http/exchange.js" */
  where: string;
}

/** Every import between two folders of `dir` (relative specifiers; the rest are node:* and packages). */
function edges(dir: string, read: (file: string) => string = (f) => readFileSync(f, 'utf8')): Edge[] {
  const out: Edge[] = [];
  for (const file of tsFiles(dir)) {
    for (const spec of importsOf(read(file))) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      const from = folderOf(file);
      const to = relative(src, target).split('/')[0]!.replace(/\.js$/, '.ts');
      if (from !== to) out.push({ from, to, where: `${relative(src, file)} imports ${spec}` });
    }
  }
  return out;
}

/** A cycle among the folders (each listed once, the first again at the end), or undefined. */
function findCycle(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...path.slice(path.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    if (state.get(node) !== undefined) continue;
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

test('every folder of src/ is in the table', () => {
  const folders = readdirSync(src).sort();
  assert.deepEqual(folders, [...ALLOWED.keys()].sort(), 'a new folder needs its row in ALLOWED and in docs/architecture.md');
});

test('every import between folders of src/ follows the table (type-only imports included)', () => {
  const bad = edges(src)
    .filter((e) => !(ALLOWED.get(e.from) ?? []).includes(e.to))
    .map((e) => `${e.from} -> ${e.to}: ${e.where}`);
  assert.deepEqual(bad, [], 'imports the layout does not allow (docs/architecture.md says where a change belongs)');
});

test('only cli/ and index.ts import server/', () => {
  const importers = new Set(edges(src).filter((e) => e.to === 'server').map((e) => e.from));
  assert.deepEqual([...importers].sort(), ['cli', 'index.ts']);
  for (const [folder, allowed] of ALLOWED) if (folder !== 'cli' && folder !== 'index.ts') assert.ok(!allowed.includes('server'), folder);
});

test('no cycle between folders, in the imports nor in the table', () => {
  const graph = new Map<string, Set<string>>();
  for (const e of edges(src)) {
    if (!graph.has(e.from)) graph.set(e.from, new Set());
    graph.get(e.from)!.add(e.to);
  }
  assert.equal(findCycle(graph)?.join(' -> '), undefined);
  const table = new Map([...ALLOWED].map(([k, v]) => [k, new Set(v)]));
  assert.equal(findCycle(table)?.join(' -> '), undefined);
  // Bottom to top: a row names only rows above it in ALLOWED.
  const order = [...ALLOWED.keys()];
  for (const [folder, allowed] of ALLOWED) for (const to of allowed) assert.ok(order.indexOf(to) < order.indexOf(folder), `${folder} -> ${to}`);
});

test('the cycle finder finds a cycle, and the table check an upward import', () => {
  const cyclic = new Map([
    ['a', new Set(['b'])],
    ['b', new Set(['c'])],
    ['c', new Set(['a'])],
  ]);
  assert.deepEqual(findCycle(cyclic), ['a', 'b', 'c', 'a']);
  assert.equal(findCycle(new Map([['a', new Set(['b'])]])), undefined);
  assert.ok(!(ALLOWED.get('http') ?? []).includes('server'));
});

test('the import scanner: every form, and nothing inside comments, strings, templates or regexes', () => {
  const text = [
    "import a from './a.js';",
    "import type { B } from './b.js';",
    "import {\n  c,\n  type C,\n} from './c.js';",
    "import './d.js';",
    "export { e } from './e.js';",
    "export type { F } from './f.js';",
    "export * from './g.js';",
    "const h = await import('./h.js');",
    "// import x from './comment.js';",
    "/* import y from './block.js'; */",
    "const s = \"import z from './string.js'\";",
    "const t = `import w from './template.js' ${'x'} ${{ a: 1 }.a}`;",
    "const r = /'|\"|\\/\\/ import v from '.\\/regex.js'/;",
    "const q = a / 2; import k from './after-division.js';",
    'export const from = 1;',
    "export interface I { from: string }",
    "import l from './last.js';",
  ].join('\n');
  assert.deepEqual(importsOf(text), ['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js', './g.js', './h.js', './after-division.js', './last.js']);
});

test("the scanner misses none of the static imports V8 reads in the compiled files", () => {
  // V8's own parse of every compiled module (vm.SourceTextModule), against the scanner's list
  // for its source: type-only imports are erased by the compiler, so the source lists more.
  const dist = join(root, 'dist', 'src');
  const script = `
    const vm = require('node:vm'); const fs = require('node:fs'); const path = require('node:path');
    const out = {};
    const walk = (d) => { for (const n of fs.readdirSync(d)) { const p = path.join(d, n);
      if (fs.statSync(p).isDirectory()) walk(p); else if (n.endsWith('.js')) out[p] = new vm.SourceTextModule(fs.readFileSync(p, 'utf8')).dependencySpecifiers; } };
    walk(${JSON.stringify(dist)});
    process.stdout.write(JSON.stringify(out));`;
  const run = spawnSync(process.execPath, ['--experimental-vm-modules', '--no-warnings', '-e', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(run.status, 0, run.stderr);
  const v8 = JSON.parse(run.stdout) as Record<string, string[]>;
  assert.ok(Object.keys(v8).length > 100, 'the compiled files were found');
  const missed: string[] = [];
  for (const [js, specs] of Object.entries(v8)) {
    const ts = join(src, relative(dist, js)).replace(/\.js$/, '.ts');
    if (!existsSync(ts)) continue; // left in dist/ by a file since moved or deleted
    const scanned = new Set(importsOf(readFileSync(ts, 'utf8')));
    for (const spec of specs) if (!scanned.has(spec)) missed.push(`${relative(src, ts)}: ${spec}`);
  }
  assert.deepEqual(missed, []);
});

test('docs/architecture.md has the same table', () => {
  const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const m of doc.matchAll(/^\| `([a-z.]+)\/?` \| ([^|]*) \|/gm)) {
    rows.set(m[1]!, [...m[2]!.matchAll(/`([a-z.]+)\/?`/g)].map((x) => x[1]!));
  }
  assert.deepEqual(
    [...rows].map(([k, v]) => [k, [...v].sort()]),
    [...ALLOWED].map(([k, v]) => [k, [...v].sort()]),
  );
});
