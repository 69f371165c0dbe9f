/**
 * Tokens -> a tree of directives (`name args... ;` or `name args... { ... }`), with `include`
 * expanded in place as nginx does while reading (ngx_conf_parse, ngx_conf_include):
 * a relative include path is relative to the directory of the main config file, a pattern
 * with `*`, `?` or `[` is a glob (sorted, and matching nothing is fine), a plain path that does
 * not exist is an error - except Debian's `proxy_params` and `mime.types`, which Portico
 * has built in for configs copied off a Debian box.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { tokenize, type Token } from './lexer.js';
import type { SourceError } from '../diagnostics.js';
import { BUILTIN_FILES } from './builtin-files.js';

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

export function parseText(text: string, file: string, options: ParseOptions): Directive[] | SourceError {
  return new Parser(options).parse(text, file, 0);
}

class Parser {
  constructor(readonly options: ParseOptions) {}

  parse(text: string, file: string, depth: number): Directive[] | SourceError {
    const tokens = tokenize(text, file);
    if (!Array.isArray(tokens)) return tokens;
    const pos = { i: 0 };
    const out = this.#block(tokens, pos, file, depth, undefined);
    if (!Array.isArray(out)) return out;
    return out;
  }

  /** Reads directives until `}` (when `opener` is given) or end of file. */
  #block(tokens: Token[], pos: { i: number }, file: string, depth: number, opener: Token | undefined): Directive[] | SourceError {
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
      if (end.kind === '{') {
        const inner = this.#block(tokens, pos, file, depth, end);
        if (!Array.isArray(inner)) return inner;
        d.block = inner;
        out.push(d);
        continue;
      }
      if (d.name === 'include') {
        if (args.length !== 1) return { file, line: d.line, col: d.col, message: 'invalid number of arguments in "include" directive' };
        const included = this.#include(d, depth);
        if (!Array.isArray(included)) return included;
        out.push(...included);
        continue;
      }
      out.push(d);
    }
  }

  #include(d: Directive, depth: number): Directive[] | SourceError {
    const at = { file: d.file, line: d.line, col: d.col };
    if (depth >= MAX_INCLUDE_DEPTH) return { ...at, message: `includes nested more than ${MAX_INCLUDE_DEPTH} deep (an include cycle?)` };
    const pattern = d.args[0]!;
    const full = isAbsolute(pattern) ? pattern : join(this.options.confDir, pattern);
    const files = /[*?[]/.test(pattern) ? glob(full) : [full];
    const out: Directive[] = [];
    for (const path of files) {
      let text: string;
      let name = displayName(path);
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        const builtin = BUILTIN_FILES[basename(path)];
        if (builtin === undefined || (err as NodeJS.ErrnoException).code !== 'ENOENT') {
          return { ...at, message: `open() "${path}" failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
        }
        text = builtin;
        name = `${basename(path)} (built in)`;
      }
      const parsed = this.parse(text, name, depth + 1);
      if (!Array.isArray(parsed)) return parsed;
      out.push(...parsed);
    }
    return out;
  }
}

function displayName(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** glob(3) without flags, as ngx_open_glob uses it: sorted, `*` does not match a leading dot. */
export function glob(pattern: string): string[] {
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
      const re = globToRegExp(part);
      for (const name of names.sort()) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (!re.test(name)) continue;
        const path = join(dir, name);
        if (!last && !isDir(path)) continue;
        next.push(path);
      }
    }
    paths = next;
  }
  return paths.filter((p) => exists(p)).sort();
}

function globToRegExp(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let cls = part.slice(i + 1, end);
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
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
