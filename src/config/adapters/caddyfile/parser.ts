/**
 * Tokens -> server blocks, after Caddy's parser (caddyconfig/caddyfile/parse.go,
 * https://caddyserver.com/docs/caddyfile/concepts#structure):
 *  - a first block with no keys (`{ ... }`) holds the global options;
 *  - `(name) { ... }` defines a snippet; `import name [args...]` pastes it, with `{args[0]}`
 *    (or `{args.0}`) replaced; `import path/glob` pastes files relative to the Caddyfile;
 *  - every other block is a site: its keys (addresses, comma- or space-separated) then
 *    `{ directives }`; a file with a single site may leave the braces out;
 *  - a directive is the tokens of one line, plus a `{ ... }` block when the line ends with `{`.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { tokenize, replaceEnv, type Token } from './lexer.js';
import type { SourceError } from '../diagnostics.js';
import { glob } from '../nginx/parser.js';

export interface Directive {
  name: string;
  args: Token[];
  file: string;
  line: number;
  block?: Directive[];
}

export interface ServerBlock {
  keys: Token[];
  directives: Directive[];
  file: string;
  line: number;
}

export interface Caddyfile {
  global: Directive[] | undefined;
  sites: ServerBlock[];
}

const MAX_IMPORT_DEPTH = 16;

export function parseCaddyfile(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Caddyfile | SourceError {
  const tokens = tokenize(replaceEnv(text, env), file);
  if (!Array.isArray(tokens)) return tokens;
  return new Parser(dirname(file), env).parse(tokens);
}

class Parser {
  readonly snippets = new Map<string, Token[]>();
  imports = 0;
  constructor(
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  parse(tokens: Token[]): Caddyfile | SourceError {
    const expanded = this.#expandTopImports(tokens, 0);
    if (!Array.isArray(expanded)) return expanded;
    const out: Caddyfile = { global: undefined, sites: [] };
    let i = 0;
    let first = true;
    while (i < expanded.length) {
      const t = expanded[i]!;
      // Global options: a block without keys, first in the file.
      if (first && t.text === '{' && !t.quoted) {
        const body = blockTokens(expanded, i);
        if ('message' in body) return body;
        const dirs = this.#directives(body.tokens, 0);
        if (!Array.isArray(dirs)) return dirs;
        out.global = dirs;
        i = body.next;
        first = false;
        continue;
      }
      first = false;
      const keys: Token[] = [];
      while (i < expanded.length && !(expanded[i]!.text === '{' && !expanded[i]!.quoted) && (keys.length === 0 || sameLineOrComma(keys, expanded[i]!))) {
        keys.push(expanded[i]!);
        i++;
      }
      const flat = keys.flatMap((k) => k.text.split(',').filter((s) => s !== '').map((s) => ({ ...k, text: s })));
      const snippet = /^\((.+)\)$/.exec(flat[0]?.text ?? '');
      if (i < expanded.length && expanded[i]!.text === '{' && !expanded[i]!.quoted) {
        const body = blockTokens(expanded, i);
        if ('message' in body) return body;
        i = body.next;
        if (snippet) {
          this.snippets.set(snippet[1]!, body.tokens);
          continue;
        }
        const dirs = this.#directives(body.tokens, 0);
        if (!Array.isArray(dirs)) return dirs;
        out.sites.push({ keys: flat, directives: dirs, file: keys[0]!.file, line: keys[0]!.line });
        continue;
      }
      // A single site without braces: the rest of the file is its body.
      if (out.sites.length > 0 || snippet) return { file: keys[0]!.file, line: keys[0]!.line, message: 'expected "{" after the site address (braces are needed when there is more than one site)' };
      const siteLine = keys[0]!.line;
      const addrKeys = flat.filter((k) => k.line === siteLine);
      const rest = [...keys.filter((k) => k.line !== siteLine), ...expanded.slice(i)];
      const dirs = this.#directives(rest, 0);
      if (!Array.isArray(dirs)) return dirs;
      out.sites.push({ keys: addrKeys, directives: dirs, file: keys[0]!.file, line: siteLine });
      break;
    }
    return out;
  }

  /** Top-level `import` lines become the tokens they import (snippets are defined first, as Caddy reads them in order). */
  #expandTopImports(tokens: Token[], depth: number): Token[] | SourceError {
    const out: Token[] = [];
    let i = 0;
    let blockDepth = 0;
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (!t.quoted && t.text === '{') blockDepth++;
      if (!t.quoted && t.text === '}') blockDepth--;
      if (blockDepth === 0 && !t.quoted && t.text === 'import' && (i === 0 || tokens[i - 1]!.line !== t.line)) {
        const line = lineTokens(tokens, i);
        const imported = this.#import(line, depth);
        if (!Array.isArray(imported)) return imported;
        out.push(...imported);
        i += line.length;
        continue;
      }
      // Record snippets as they are defined, so later imports find them.
      const snippet = /^\((.+)\)$/.exec(t.text);
      if (blockDepth === 0 && snippet && tokens[i + 1]?.text === '{') {
        const body = blockTokens(tokens, i + 1);
        if ('message' in body) return body;
        this.snippets.set(snippet[1]!, body.tokens);
        i = body.next;
        continue;
      }
      out.push(t);
      i++;
    }
    return out;
  }

  #import(line: Token[], depth: number): Token[] | SourceError {
    const at = line[0]!;
    if (depth > MAX_IMPORT_DEPTH) return { file: at.file, line: at.line, message: 'imports nested too deep (an import cycle?)' };
    if (line.length < 2) return { file: at.file, line: at.line, message: 'import needs a snippet name or a file' };
    const name = line[1]!.text;
    const args = line.slice(2).map((t) => t.text);
    const snippet = this.snippets.get(name);
    const origin = ++this.imports;
    let tokens: Token[];
    if (snippet) {
      tokens = snippet.map((t) => ({ ...t, origin, text: replaceArgs(t.text, args) }));
    } else {
      const path = isAbsolute(name) ? name : join(this.dir, name);
      const files = /[*?[]/.test(name) ? glob(path) : [path];
      tokens = [];
      for (const f of files) {
        let text: string;
        try {
          text = readFileSync(f, 'utf8');
        } catch {
          return { file: at.file, line: at.line, message: `import: no snippet named "${name}" and no file ${path}` };
        }
        const t = tokenize(replaceEnv(text, this.env), f);
        if (!Array.isArray(t)) return t;
        tokens.push(...t.map((tok) => ({ ...tok, origin })));
      }
    }
    return this.#expandTopImports(tokens, depth + 1);
  }

  #directives(tokens: Token[], depth: number): Directive[] | SourceError {
    const out: Directive[] = [];
    let i = 0;
    while (i < tokens.length) {
      const line = lineTokens(tokens, i);
      i += line.length;
      const head = line[0]!;
      if (!head.quoted && head.text === '}') return { file: head.file, line: head.line, message: 'unexpected "}"' };
      if (!head.quoted && head.text === 'import') {
        const imported = this.#import(line, depth);
        if (!Array.isArray(imported)) return imported;
        const dirs = this.#directives(imported, depth + 1);
        if (!Array.isArray(dirs)) return dirs;
        out.push(...dirs);
        continue;
      }
      const last = line[line.length - 1]!;
      const d: Directive = { name: head.text, args: line.slice(1), file: head.file, line: head.line };
      if (!last.quoted && last.text === '{' && line.length > 1) {
        d.args = line.slice(1, -1);
        const body = blockTokens(tokens, i - 1);
        if ('message' in body) return body;
        i = body.next;
        const inner = this.#directives(body.tokens, depth);
        if (!Array.isArray(inner)) return inner;
        d.block = inner;
      } else if (!head.quoted && head.text === '{') {
        return { file: head.file, line: head.line, message: 'unexpected "{"' };
      }
      out.push(d);
    }
    return out;
  }
}

function sameLineOrComma(keys: Token[], t: Token): boolean {
  const last = keys[keys.length - 1]!;
  return (t.line === last.line && t.origin === last.origin) || last.text.endsWith(',');
}

/** The tokens from `i` to the end of its line (a quoted token spanning lines counts from its start). */
function lineTokens(tokens: Token[], i: number): Token[] {
  const first = tokens[i]!;
  let j = i + 1;
  while (j < tokens.length && tokens[j]!.line === first.line && tokens[j]!.file === first.file && tokens[j]!.origin === first.origin) j++;
  return tokens.slice(i, j);
}

/** The tokens between the `{` at `open` and its matching `}`. */
function blockTokens(tokens: Token[], open: number): { tokens: Token[]; next: number } | SourceError {
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (t.quoted) continue;
    if (t.text === '{') depth++;
    else if (t.text === '}') {
      depth--;
      if (depth === 0) return { tokens: tokens.slice(open + 1, j), next: j + 1 };
    }
  }
  const o = tokens[open]!;
  return { file: o.file, line: o.line, message: 'unclosed "{"' };
}

function replaceArgs(text: string, args: string[]): string {
  return text.replace(/\{args(?:\[(\d+)\]|\.(\d+))\}/g, (_, a: string | undefined, b: string | undefined) => args[Number(a ?? b)] ?? '');
}
