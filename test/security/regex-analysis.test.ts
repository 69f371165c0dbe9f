// The analysis behind the regex DoS fix (issue 12, item 6): which patterns a backtracking
// engine can take more than linear time on. The classic catastrophic forms must all be found
// (they then run in the linear-time engine, or are refused); the patterns real configs use
// must not be (they keep V8's fast backtracking engine, and `check` stays quiet about them).
// And no regex built from the config reaches a request without going through safe-regex.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRegex } from '../../src/regex/syntax.js';
import { analyzeRegex } from '../../src/regex/ambiguity.js';
import { compileSafeRegex } from '../../src/regex/safe-regex.js';

const degree = (p: string, ignoreCase = false) => analyzeRegex(parseRegex(p), p, ignoreCase).degree;

// From the ReDoS literature (OWASP, Davis et al. 2018, Weideman et al. 2016) and the issue.
const EXPONENTIAL = [
  '^/api/(\\w+-?)+/$',
  '^(a+)+$',
  '(a|a)*b',
  '^(a|aa)+$',
  '(a|b|ab)*c',
  '^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$',
  '^(\\w+\\s?)*$',
  '(x+x+)+y',
  '^(([a-z])+.)+[A-Z]([a-z])+$',
  '^(.*)*x$',
  '(?:a+)+?b',
  '(a|a){10}(b|b){10}',
  '^(a?){25}a{25}$',
];

const POLYNOMIAL: [string, number][] = [
  ['a*b', 2], // unanchored: tried from every position
  ['/foo.*bar', 2],
  ['\\s*$', 2],
  ['^/(.*)/(.*)$', 2],
  ['^(.+\\.php)(/.+)$', 2],
  ['^/(.*)/(.*)/(.*)\\.php$', 3],
  ['\\d+\\d+\\d+x', 4],
];

const LINEAR = [
  '\\.php$',
  '\\.(jpg|jpeg|gif|png|ico|css|js|svg|woff2?)$',
  '^/static/(.*)$',
  '/static/.*',
  '^/media/.*\\.(?:png|jpe?g|webp)$',
  '^/(?<user>[^/]+)/repos/(?<repo>[^/]+)$',
  '[^/]\\.php(/|$)',
  '/\\.ht',
  '^/(images|javascript|js|css|flash|media|static)/',
  '^/(?!api).*$',
  '^(\\w+\\.)*\\w+@',
  '^[a-f0-9]{32}$',
  '/\\d{4}/',
  '^(?:[a-z0-9-]{1,63}\\.){1,10}[a-z]{2,}$',
  '^(a|ab)*c$',
  '^/img/(\\w+)/(.+)$',
  '^/(.*)/(.*)', // the last loop ends the match: no split is ever retried
  '^(?!/nx/)[\\s\\S]*?(?:^/img/(\\w+)/(.+)$)', // a nested nginx location: its inner ^ anchors it
  '(?:a|b|c|d){30}',
];

test('regex analysis: every classic catastrophic pattern is found exponential', () => {
  for (const p of EXPONENTIAL) assert.equal(degree(p), Infinity, p);
});

test('regex analysis: polynomial patterns are found with their degree', () => {
  for (const [p, d] of POLYNOMIAL) assert.equal(degree(p), d, p);
});

test('regex analysis: the patterns real configs use are linear, and keep the fast engine', () => {
  for (const p of LINEAR) {
    assert.ok(degree(p) <= 1, `${p}: ${degree(p)}`);
    for (const ic of [false, true]) assert.equal(compileSafeRegex(p, ic).backtracking, undefined, p);
  }
});

test('regex analysis: what cannot be analyzed counts as exponential', () => {
  // 5,000 positions: beyond the analysis budget.
  assert.equal(degree('^(?:a|b){5000}(x|y)*$'), Infinity);
});

test('every regex built from the config goes through src/regex/safe-regex.ts', () => {
  // Allowed: src/regex itself, and adapters that only read config text (include globs,
  // heredoc markers, the group names of a server_name regex tried on ""), and src/http/escape.ts,
  // whose character classes are Portico's own constants, built once at load, and
  // src/http/head.ts, whose field-block regexes are its own constant line repeated an integer
  // number of times (one per field count, at most 128), never config text.
  const allowed = new Set([
    'src/config/adapters/nginx/parser.ts',
    'src/config/adapters/caddyfile/lexer.ts',
    'src/config/adapters/nginx/emit/server.ts',
    'src/http/escape.ts',
    'src/http/head.ts',
  ]);
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const offenders: string[] = [];
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) visit(path);
      else if (name.endsWith('.ts')) {
        const rel = relative(root, path);
        if (rel.startsWith('src/regex/') || allowed.has(rel)) continue;
        if (/new RegExp\(/.test(readFileSync(path, 'utf8'))) offenders.push(rel);
      }
    }
  };
  visit(join(root, 'src'));
  assert.deepEqual(offenders, []);
});
