/**
 * Tokens -> a tree of directives (`name args... ;` or `name args... { ... }`), with `include`
 * expanded in place as nginx does while reading (ngx_conf_parse, ngx_conf_include):
 * a relative include path is relative to the directory of the main config file, a pattern
 * with `*`, `?` or `[` is a glob (sorted, and matching nothing is fine), a plain path that does
 * not exist is an error - except Debian's `proxy_params` and `mime.types`, which Portico
 * has built in for configs copied off a Debian box.
 * Reading is bounded (../read-limits.ts): bytes and files in all, nesting, words, directives;
 * past a bound the config is refused at the place that crossed it.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { tokenize, type Token } from './lexer.js';
import type { SourceError } from '../diagnostics.js';
import { BUILTIN_FILES } from './builtin-files.js';
import { MAX_DIRECTIVES, MAX_INCLUDED_FILES, MAX_NESTING, ReadBudget, readConfigText, tooLarge } from '../read-limits.js';

export interface Directive {
  name: string;
  args: string[];
  /** Per argument: written in quotes. */
  quoted: boolean[];
  file: string;
  line: number;
  col: number;
  /** Present for `name ... { }` (possibly empty). */
  block?: Directive[];
}

export interface ParseOptions {
  /** Directory relative includes resolve against (nginx: the main config file's directory). */
  confDir: string;
}

const MAX_INCLUDE_DEPTH = 32;

/**
 * Blocks nginx reads with a handler of their own (ngx_http_map, ngx_http_types, geo,
 * split_clients, charset_map): their lines are data, and a `{` among them is
 * `unexpected "{"` (ngx_conf_parse with cf->handler set).
 */
const DATA_ONLY = new Set(['map', 'types', 'geo', 'split_clients', 'charset_map']);

export function parseText(text: string, file: string, options: ParseOptions): Directive[] | SourceError {
  const large = tooLarge(text);
  if (large) return { file, line: 0, col: 0, message: large };
  return new Parser(options, new ReadBudget(Buffer.byteLength(text))).parse(text, file, 0, 0);
}

class Parser {
  constructor(
    readonly options: ParseOptions,
    readonly budget: ReadBudget,
  ) {}

  /** `depth`: includes around this file; `nesting`: blocks around it (an include inside a location). */
  parse(text: string, file: string, depth: number, nesting: number): Directive[] | SourceError {
    const tokens = tokenize(text, file);
    if (!Array.isArray(tokens)) return tokens;
    const pos = { i: 0 };
    const out = this.#block(tokens, pos, file, depth, undefined, nesting);
    if (!Array.isArray(out)) return out;
    return out;
  }

  /** Reads directives until `}` (when `opener` is given; its `text` is the directive that opened the block) or end of file. */
  #block(tokens: Token[], pos: { i: number }, file: string, depth: number, opener: Token | undefined, nesting: number): Directive[] | SourceError {
    const out: Directive[] = [];
    for (;;) {
      const t = tokens[pos.i]!;
      if (t.kind === 'eof') {
        if (opener) return { file, line: t.line, col: t.col, message: 'unexpected end of file, expecting "}"' };
        return out;
      }
      if (t.kind === '}') {
        pos.i++;
        if (!opener) return { file, line: t.line, col: t.col, message: 'unexpected "}"' };
        return out;
      }
      if (t.kind !== 'word') return { file, line: t.line, col: t.col, message: `unexpected "${t.text}"` };
      const name = t;
      const args: string[] = [];
      const quoted: boolean[] = [];
      pos.i++;
      for (;;) {
        const a = tokens[pos.i]!;
        if (a.kind === 'word') {
          args.push(a.text);
          quoted.push(a.quoted);
          pos.i++;
          continue;
        }
        if (a.kind === 'eof') return { file, line: a.line, col: a.col, message: 'unexpected end of file, expecting ";" or "}"' };
        if (a.kind === '}') return { file, line: a.line, col: a.col, message: 'unexpected "}"' };
        break;
      }
      const end = tokens[pos.i++]!;
      const d: Directive = { name: name.text, args, quoted, file, line: name.line, col: name.col };
      if (++this.budget.directives > MAX_DIRECTIVES) return { file, line: d.line, col: d.col, message: `more than ${MAX_DIRECTIVES} directives in the config and its includes` };
      if (end.kind === '{') {
        if (opener !== undefined && DATA_ONLY.has(opener.text)) return { file, line: end.line, col: end.col, message: 'unexpected "{"' };
        if (nesting >= MAX_NESTING) return { file, line: end.line, col: end.col, message: `blocks nested more than ${MAX_NESTING} deep` };
        const inner = this.#block(tokens, pos, file, depth, { ...end, text: d.name }, nesting + 1);
        if (!Array.isArray(inner)) return inner;
        d.block = inner;
        out.push(d);
        continue;
      }
      if (d.name === 'include') {
        if (args.length !== 1) return { file, line: d.line, col: d.col, message: 'invalid number of arguments in "include" directive' };
        const included = this.#include(d, depth, nesting);
        if (!Array.isArray(included)) return included;
        for (const i of included) out.push(i); // not push(...): a spread of a million arguments overflows the stack
        continue;
      }
      out.push(d);
    }
  }

  #include(d: Directive, depth: number, nesting: number): Directive[] | SourceError {
    const at = { file: d.file, line: d.line, col: d.col };
    if (depth >= MAX_INCLUDE_DEPTH) return { ...at, message: `includes nested more than ${MAX_INCLUDE_DEPTH} deep (an include cycle?)` };
    const pattern = d.args[0]!;
    const full = isAbsolute(pattern) ? pattern : join(this.options.confDir, pattern);
    const files = /[*?[]/.test(pattern) ? glob(full, MAX_INCLUDED_FILES - this.budget.files) : [full];
    if (files === null) return { ...at, message: `"${pattern}" matches more than ${MAX_INCLUDED_FILES} files in all` };
    const out: Directive[] = [];
    for (const path of files) {
      if (++this.budget.files > MAX_INCLUDED_FILES) return { ...at, message: `more than ${MAX_INCLUDED_FILES} files included in all (an include cycle?)` };
      let text: string;
      let name = displayName(path);
      const read = readConfigText(path, this.budget);
      if ('error' in read) {
        const builtin = BUILTIN_FILES[basename(path)];
        if (builtin === undefined || read.error !== 'ENOENT') return { ...at, message: `open() "${path}" failed (${read.error})` };
        text = builtin;
        name = `${basename(path)} (built in)`;
      } else text = read.text;
      const parsed = this.parse(text, name, depth + 1, nesting);
      if (!Array.isArray(parsed)) return parsed;
      for (const p of parsed) out.push(p);
    }
    return out;
  }
}

function displayName(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * glob(3) without flags, as ngx_open_glob uses it: sorted, `*` does not match a leading dot.
 * null when more than `max` paths match at some level (a pattern of stars at every level must not walk
 * the whole disk before it is refused).
 */
export function glob(pattern: string, max = Infinity): string[] | null {
  const parts = pattern.split('/');
  let paths = [parts[0] === '' ? '/' : parts[0]!];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const dir of paths) {
      if (!/[*?[]/.test(part)) {
        next.push(join(dir, part));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (!globMatch(part, name)) continue;
        const path = join(dir, name);
        if (!last && !isDir(path)) continue;
        next.push(path);
        if (next.length > max) return null;
      }
    }
    paths = next;
  }
  return paths.filter((p) => exists(p)).sort();
}

/**
 * One path segment against a glob (`*`, `?`, `[...]`, `[!...]`), in time linear in their
 * product: on a mismatch only the last `*` is retried one character further, so a pattern
 * with many stars cannot backtrack exponentially as a regex of it could.
 */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const c = pattern[p];
    if (c === '*') {
      star = p++;
      resume = n;
      continue;
    }
    if (c !== undefined) {
      const one = matchOne(pattern, p, name[n]!);
      if (one > 0) {
        p += one;
        n++;
        continue;
      }
    }
    if (star < 0) return false;
    p = star + 1;
    n = ++resume;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether `ch` matches the pattern item at `p`: its length in the pattern, or 0. */
function matchOne(pattern: string, p: number, ch: string): number {
  const c = pattern[p]!;
  if (c === '?') return 1;
  if (c === '[') {
    const end = pattern.indexOf(']', p + 2);
    if (end >= 0) {
      let body = pattern.slice(p + 1, end);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      let hit = false;
      for (let i = 0; i < body.length; i++) {
        if (body[i + 1] === '-' && i + 2 < body.length) {
          if (ch >= body[i]! && ch <= body[i + 2]!) hit = true;
          i += 2;
        } else if (body[i] === ch) hit = true;
      }
      return hit !== negate ? end - p + 1 : 0;
    }
  }
  return c === ch ? 1 : 0;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
