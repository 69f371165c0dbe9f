// What the regex DoS fix must not change (issue 12, item 6): every config regex is now compiled
// by src/regex/safe-regex.ts (case-insensitive ones rewritten without the `i` flag, some run in
// V8's linear-time engine, "^(?=..)rest" split into guards and a rest), and each must match
// exactly what the pattern as written matches: same index, same captures, same named groups.
// A property test over real-world patterns (nginx, Caddyfile and Django configs, the adapters'
// tests), patterns made to probe case folding, and seeded random patterns, each against inputs
// drawn from the pattern itself (so that they match) and then mutated. Run twice: as is, and in a
// child where V8 hands every match to its linear engine after one backtrack (the fallback that
// guards exponential patterns, forced), which must not change a result either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { compileSafeRegex, type SafeRegex } from '../../src/regex/safe-regex.js';
import { matchesEmpty, parseRegex, walk, type Node } from '../../src/regex/syntax.js';
import { foldCase } from '../../src/regex/case-fold.js';
import { nodeSet, type CharSet } from '../../src/regex/charset.js';
import { LINEAR_ENGINE, LINEAR_FALLBACK } from '../../src/regex/engine.js';

const REAL_WORLD = [
  '\\.php$',
  '\\.(jpg|jpeg|gif|png|ico|css|js|svg|woff2?)$',
  '^/static/(.*)$',
  '^/static(/.*)$',
  '^/media/.*\\.(?:png|jpe?g|webp)$',
  '^/(?<user>[^/]+)/repos/(?<repo>[^/]+)$',
  '^/api/v(\\d+)/',
  '^/img/(\\w+)/(.+)$',
  '^/prefix/.*\\.php$',
  '^(.+\\.php)(/.+)$',
  '^(.+\\.php)(.*)$',
  '[^/]\\.php(/|$)',
  '/\\.ht',
  '/\\.(?!well-known)',
  '^/(images|javascript|js|css|flash|media|static)/',
  '^/user/(?<id>\\d+)/(\\w+)$',
  '^/(?<name>\\w+)$',
  '^/wp-content/uploads/.*\\.php$',
  '^/(wp-admin|wp-login\\.php)',
  '^/api/(\\w+-?)+/$',
  '^/documents/.*\\.jpg$',
  '^/pic(.*)$',
  '\\.PHP$',
  '^BRONZE',
  '^app\\d+\\.test$',
  '^silver-(\\d+)$',
  '^(?<sub>.+)\\.example\\.com$',
  '^https://([a-z]+\\.)?example\\.test$',
  '^.*\\.ico$',
  '^/(.*)/(.*)/(.*)\\.php$',
  '/foo.*bar',
  '^(\\w+\\.)*\\w+@',
  '^(?:[a-z0-9-]{1,63}\\.){1,3}[a-z]{2,}$',
  '^/old/(\\d+)+x$',
  '^(a|a)*$',
  '^(?!/nx/)[\\s\\S]*?(?:^/img/(\\w+)/(.+)$)',
  '^(?=/api/)[\\s\\S]*?(?:/v1/(.*)\\.json$)',
  '^(?=/(?!media/)(?!api/)(?!api/v1/))[\\s\\S]*?(?:\\.(css|js)$)',
  '^(?!/a/b/)(?=/a/)[\\s\\S]*?(?:/x(.*)y)',
];

// Case folding, ECMAScript's Canonicalize without `u`: long s, Kelvin sign, dotted and dotless i,
// micro sign, sharp s, title-case digraphs, final sigma; escapes of every kind; Annex B oddities.
const CASE_PROBES = [
  'straße',
  'ſ',
  'K',
  '\\u212a',
  'µ',
  '[^k]',
  '[a-z]+',
  '[^a-z]',
  '[A-Z0-9_-]{2,5}',
  '\\w+\\W',
  '\\bword\\b\\B',
  'İ|ı',
  'ǅ+',
  'Σ+[σς]',
  '[\\u00c0-\\u00ff]+',
  '\\x41\\101\\0',
  '\\c1',
  '\\cJ',
  '[\\cJ\\c_]',
  'a{2,3}b{',
  '\\u{41}',
  '(?:a|b)*?c',
  '^(a|ab)*c$',
  '[\\]a-]',
  '(?=Ab)(?<!c)d',
  '\\8\\9',
  '(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\11',
  '\\p{L}',
  '[\\s\\S]',
  '.a.',
];

// Repetitions of a part that can match nothing: where V8's linear engine (Node 20) departs from
// ECMAScript, so they must never run there (see src/regex/safe-regex.ts).
const EMPTY_REPEATS = [
  '([ab]*?)?',
  '(?:(x?)){0,2}X',
  '(?:(.*?){0,2}){2}X',
  '(?:(.*?){1,2}){2}X',
  '(a*?x??)+$',
  '(\\d?.??)+$',
  '(?:x??a??){2,}.??',
  '^B(?:/{2}[Xy-z]{0,2}[a-c]*S*?)*?(\\.?\\u00e9*?)+ß*',
];

/** A seeded generator, for patterns and inputs that are the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomPattern(rnd: () => number): string {
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const atoms = ['a', 'B', 'k', 'S', 'é', 'ſ', 'K', '\\w', '\\d', '[a-c]', '[^b]', '[Xy-z]', '.', '/', '\\.', '-', 'µ', 'ß', '\\u00e9', '\\x4b'];
  const quants = ['', '', '', '*', '+', '?', '{2}', '{1,3}', '*?', '+?', '{0,2}'];
  const term = (depth: number): string => {
    const r = rnd();
    const body = depth < 2 && r < 0.3 ? `(${rnd() < 0.5 ? '?:' : ''}${alt(depth + 1)})` : pick(atoms);
    return body + pick(quants);
  };
  const seq = (depth: number): string => Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => term(depth)).join('');
  const alt = (depth: number): string => (rnd() < 0.25 ? `${seq(depth)}|${seq(depth)}` : seq(depth));
  return (rnd() < 0.4 ? '^' : '') + alt(0) + (rnd() < 0.4 ? '$' : '');
}

/** A string the pattern (roughly) matches: a random walk of its tree. */
function sample(node: Node, ignoreCase: boolean, rnd: () => number, out: string[]): void {
  switch (node.type) {
    case 'char':
      out.push(pickFrom(nodeSet(node, ignoreCase), rnd));
      return;
    case 'seq':
      for (const i of node.items) sample(i, ignoreCase, rnd, out);
      return;
    case 'alt':
      sample(node.options[Math.floor(rnd() * node.options.length)]!, ignoreCase, rnd, out);
      return;
    case 'group':
      sample(node.body, ignoreCase, rnd, out);
      return;
    case 'repeat': {
      const max = Math.min(node.max, node.min + 4);
      const n = node.min + Math.floor(rnd() * (max - node.min + 1));
      for (let i = 0; i < n; i++) sample(node.body, ignoreCase, rnd, out);
      return;
    }
    default:
      return;
  }
}

function pickFrom(set: CharSet, rnd: () => number): string {
  if (set.length === 0) return '';
  const r = Math.floor(rnd() * (set.length / 2)) * 2;
  const lo = set[r]!;
  const hi = Math.min(set[r + 1]!, lo + 300);
  return String.fromCharCode(lo + Math.floor(rnd() * (hi - lo + 1)));
}

const SPECIALS = ['ſ', 'K', 'K', 'k', 'İ', 'ı', 'i', 'I', 'µ', 'Μ', 'μ', 'ß', 'ẞ', 'ǅ', 'ǆ', 'Ǆ', 'Σ', 'σ', 'ς', 'é', 'É', '/', '.', '-', '\n', '\u2028', '_', '7'];

/** `short`: for patterns that backtrack, whose reference (the pattern as written) takes exponential time on long inputs. */
function inputs(pattern: string, ignoreCase: boolean, rnd: () => number, short: boolean): string[] {
  const tree = parseRegex(pattern).root;
  const out: string[] = ['', 'a', '/'];
  for (let i = 0; i < 40; i++) {
    const parts: string[] = [];
    sample(tree, ignoreCase, rnd, parts);
    let s = parts.join('');
    // Mutate: flip case, insert a special, wrap in noise.
    s = [...s].map((c) => (rnd() < 0.3 ? (rnd() < 0.5 ? c.toUpperCase() : c.toLowerCase()) : c)).join('');
    if (rnd() < 0.3) {
      const at = Math.floor(rnd() * (s.length + 1));
      s = s.slice(0, at) + SPECIALS[Math.floor(rnd() * SPECIALS.length)] + s.slice(at);
    }
    if (rnd() < 0.3) s = `/x${s}`;
    if (rnd() < 0.3) s = `${s}y!`;
    out.push(short ? s.slice(-12) : s);
  }
  return out;
}

function view(m: RegExpExecArray | null): unknown {
  return m === null ? null : { index: m.index, match: [...m], groups: m.groups ? { ...m.groups } : undefined };
}

function assertSame(pattern: string, ignoreCase: boolean, seed: number): 'refused' | SafeRegex['engine'] {
  // The reference: V8's backtracking engine, per ECMAScript; the empty lookahead keeps the
  // fallback (forced in the child run) away from it.
  const written = new RegExp(`(?:${pattern})(?=)`, ignoreCase ? 'i' : '');
  let compiled: RegExp;
  let backtracks: boolean;
  let engine: SafeRegex['engine'];
  let quadratic: boolean;
  try {
    const safe = compileSafeRegex(pattern, ignoreCase);
    compiled = safe.regex;
    backtracks = safe.backtracking !== undefined;
    engine = safe.engine;
    quadratic = safe.backtracking?.degree === 2;
  } catch (err) {
    assert.match((err as Error).message, /could take .* and the linear-time engine cannot run it/, `${pattern}: ${(err as Error).message}`);
    return 'refused';
  }
  // Also the case-folded rewrite in the linear engine directly, for every pattern it runs as
  // JavaScript does (not a repetition of a part that can match nothing; see safe-regex.ts).
  const parsed = parseRegex(pattern);
  const folded = ignoreCase ? foldCase(parsed, pattern) : pattern;
  let emptyRepeat = false;
  walk(parsed.root, (n) => (emptyRepeat ||= n.type === 'repeat' && n.max > n.min && matchesEmpty(n.body)));
  let linear: RegExp | undefined;
  try {
    if (folded !== undefined && !emptyRepeat) linear = new RegExp(folded, 'l');
  } catch {
    linear = undefined;
  }
  const rnd = random(seed);
  const list = inputs(pattern, ignoreCase, rnd, backtracks);
  // Past 512 characters a quadratic pattern runs in the linear engine rather than irregexp.
  if (quadratic) for (const s of list.slice(3, 13)) if (s.length > 0) list.push(s.repeat(Math.ceil(600 / s.length)));
  for (const s of list) {
    const want = view(written.exec(s));
    assert.deepEqual(view(compiled.exec(s)), want, `/${pattern}/${ignoreCase ? 'i' : ''} on ${JSON.stringify(s)}`);
    assert.equal(compiled.test(s), want !== null);
    if (linear) assert.deepEqual(view(linear.exec(s)), want, `/${folded}/l for /${pattern}/${ignoreCase ? 'i' : ''} on ${JSON.stringify(s)}`);
  }
  return engine;
}

test('the linear-time engine and the fallback to it are there (V8 flags set at run time)', () => {
  assert.equal(LINEAR_ENGINE, true);
  assert.equal(LINEAR_FALLBACK, true);
  // The probe put the threshold back: an everyday backtracking match stays in irregexp.
  if (!FORCED) assert.deepEqual([...(/([ab]*?)?(?:another-probe)?/.exec('a') ?? [])], ['a', 'a']);
});

test('compiled config regexes match exactly what the patterns as written match: real-world patterns', () => {
  let seed = 1;
  for (const p of REAL_WORLD) for (const ic of [false, true]) assert.notEqual(assertSame(p, ic, seed++), 'refused', p);
});

test('compiled config regexes match exactly what the patterns as written match: case-folding probes', () => {
  let seed = 1000;
  for (const p of CASE_PROBES) for (const ic of [false, true]) assertSame(p, ic, seed++);
});

const FORCED = process.env.REGEX_FALLBACK_FORCED === '1';
// After the imports: engine.ts puts V8's default back when it has probed the fallback.
if (FORCED) setFlagsFromString('--regexp-backtracks-before-fallback=1');

test('compiled config regexes match exactly what the patterns as written match: repetitions of a part that can match nothing', () => {
  let seed = 2000;
  for (const p of EMPTY_REPEATS) for (const ic of [false, true]) assertSame(p, ic, seed++);
});

test('compiled config regexes match exactly what the patterns as written match: seeded random patterns', () => {
  const rnd = random(42);
  const count = { refused: 0, backtracking: 0, fallback: 0, linear: 0 };
  // Fewer where every match runs in the (slower) linear engine.
  for (let i = 0; i < (FORCED ? 100 : 300); i++) {
    const p = randomPattern(rnd);
    try {
      new RegExp(p);
    } catch {
      continue;
    }
    for (const ic of [false, true]) count[assertSame(p, ic, i * 2 + (ic ? 1 : 0))]++;
  }
  // Every way of running a pattern is exercised.
  const least = FORCED ? 15 : 50;
  assert.ok(count.backtracking > 2 * least && count.fallback > least && count.linear > least, JSON.stringify(count));
});

test('case folding: every letter of the BMP folds as V8 folds it under /i', { skip: FORCED }, () => {
  // One class per code unit that has other cases: [x] without `i` must equal x under `i`.
  for (let c = 0; c < 0x10000; c++) {
    const ch = String.fromCharCode(c);
    if (ch.toUpperCase() === ch && ch.toLowerCase() === ch) continue;
    const source = `\\u${c.toString(16).padStart(4, '0')}`;
    const folded = new RegExp(`^${foldCase(parseRegex(source), source)}$`);
    const written = new RegExp(`^${source}$`, 'i');
    for (const other of new Set([ch, ch.toUpperCase(), ch.toLowerCase(), ch.toLocaleUpperCase('tr'), ch.toLocaleLowerCase('tr')])) {
      if (other.length !== 1) continue;
      assert.equal(folded.test(other), written.test(other), `${source} vs ${JSON.stringify(other)}`);
    }
  }
});

test('the same results when V8 hands every match to its linear engine after one backtrack', { skip: FORCED }, () => {
  // NODE_TEST_CONTEXT would make the child talk node --test's own protocol instead of TAP.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url)],
    { env: { ...env, REGEX_FALLBACK_FORCED: '1' }, encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(child.status, 0, child.stdout + child.stderr);
  assert.match(child.stdout, /# pass [1-9]/);
  assert.match(child.stdout, /# fail 0/);
});
