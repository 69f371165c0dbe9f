/**
 * Tokens -> server blocks, after Caddy's parser (caddyconfig/caddyfile/parse.go,
 * https://caddyserver.com/docs/caddyfile/concepts#structure):
 *  - a first block with no keys (`{ ... }`) holds the global options;
 *  - `(name) { ... }` defines a snippet; `import name [args...] [{ block }]` pastes it, with
 *    `{args[0]}` (or `{args.0}`) replaced, a token `{args[:]}` / `{args[1:]}` / `{args[:2]}`
 *    expanded into those arguments, a token `{block}` into the tokens of the block given to the
 *    import, and `{blocks.NAME}` into those of the block of its line `NAME { ... }`
 *    (https://caddyserver.com/docs/caddyfile/directives/import); `import path/glob` pastes
 *    files relative to the Caddyfile, the same way;
 *  - every other block is a site: its keys (addresses, comma- or space-separated) then
 *    `{ directives }`; a file with a single site may leave the braces out;
 *  - a directive is the tokens of one line, plus a `{ ... }` block when the line ends with `{`.
 * Reading is bounded (../read-limits.ts): bytes and files in all, nesting, and the tokens that
 * imports paste (a snippet imported twice at every level would otherwise double each time).
 */
import { dirname, isAbsolute, join } from 'node:path';
import { tokenize, replaceEnv, type Token } from './lexer.js';
import type { SourceError } from '../diagnostics.js';
import { glob } from '../nginx/parser.js';
import { MAX_CADDYFILE_DIRECTIVES, MAX_INCLUDED_FILES, MAX_NESTING, MAX_TOKENS, ReadBudget, readConfigText, tooLarge } from '../read-limits.js';

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
  const large = tooLarge(text);
  if (large) return { file, line: 0, message: large };
  const tokens = tokenize(replaceEnv(text, env), file);
  if (!Array.isArray(tokens)) return tokens;
  return new Parser(dirname(file), env, new ReadBudget(Buffer.byteLength(text))).parse(tokens);
}

class Parser {
  readonly snippets = new Map<string, Token[]>();
  imports = 0;
  /** Tokens pasted by imports so far. */
  pasted = 0;
  constructor(
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
    readonly budget: ReadBudget,
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
      if (!first && t.text === '{' && !t.quoted) {
        return { file: t.file, line: t.line, message: 'server block without any key is global configuration, and if used, it must be first' };
      }
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
        const withBlock = importBlock(tokens, i, line);
        if ('message' in withBlock) return withBlock;
        const imported = this.#import(withBlock.line, depth, withBlock.block);
        if (!Array.isArray(imported)) return imported;
        for (const tok of imported) out.push(tok); // not push(...): a spread of a million arguments overflows the stack
        i = withBlock.next;
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

  #import(line: Token[], depth: number, block: Token[] = []): Token[] | SourceError {
    const at = line[0]!;
    if (depth > MAX_IMPORT_DEPTH) return { file: at.file, line: at.line, message: 'imports nested too deep (an import cycle?)' };
    if (line.length < 2) return { file: at.file, line: at.line, message: 'import needs a snippet name or a file' };
    const name = line[1]!.text;
    const snippet = this.snippets.get(name);
    const origin = ++this.imports;
    if (this.imports > MAX_INCLUDED_FILES) return { file: at.file, line: at.line, message: `more than ${MAX_INCLUDED_FILES} imports in all (an import cycle?)` };
    let tokens: Token[];
    if (snippet) {
      const pasted = pasteArgs(snippet, line.slice(2), block, origin);
      if (!Array.isArray(pasted)) return { file: at.file, line: at.line, message: pasted.message };
      tokens = pasted;
    } else {
      const path = isAbsolute(name) ? name : join(this.dir, name);
      const files = /[*?[]/.test(name) ? glob(path, MAX_INCLUDED_FILES - this.budget.files) : [path];
      if (files === null) return { file: at.file, line: at.line, message: `import ${name}: matches more than ${MAX_INCLUDED_FILES} files in all` };
      tokens = [];
      for (const f of files) {
        if (++this.budget.files > MAX_INCLUDED_FILES) return { file: at.file, line: at.line, message: `more than ${MAX_INCLUDED_FILES} files imported in all` };
        const read = readConfigText(f, this.budget);
        if ('error' in read) {
          const why = read.error === 'ENOENT' ? `no snippet named "${name}" and no file ${path}` : `${f}: ${read.error}`;
          return { file: at.file, line: at.line, message: `import: ${why}` };
        }
        const t = tokenize(replaceEnv(read.text, this.env), f);
        if (!Array.isArray(t)) return t;
        const pasted = pasteArgs(t, line.slice(2), block, origin);
        if (!Array.isArray(pasted)) return { file: at.file, line: at.line, message: pasted.message };
        for (const tok of pasted) tokens.push(tok);
      }
    }
    this.pasted += tokens.length;
    if (this.pasted > MAX_TOKENS) return { file: at.file, line: at.line, message: `imports paste more than ${MAX_TOKENS} tokens in all (a snippet importing itself?)` };
    return this.#expandTopImports(tokens, depth + 1);
  }

  /** `depth`: imports around these tokens; `nesting`: blocks around them. */
  #directives(tokens: Token[], depth: number, nesting = 1): Directive[] | SourceError {
    const out: Directive[] = [];
    let i = 0;
    while (i < tokens.length) {
      const line = lineTokens(tokens, i);
      i += line.length;
      const head = line[0]!;
      if (!head.quoted && head.text === '}') return { file: head.file, line: head.line, message: 'unexpected "}"' };
      if (!head.quoted && head.text === 'import') {
        const withBlock = importBlock(tokens, i - line.length, line);
        if ('message' in withBlock) return withBlock;
        i = withBlock.next;
        const imported = this.#import(withBlock.line, depth, withBlock.block);
        if (!Array.isArray(imported)) return imported;
        const dirs = this.#directives(imported, depth + 1, nesting);
        if (!Array.isArray(dirs)) return dirs;
        for (const d of dirs) out.push(d);
        continue;
      }
      const last = line[line.length - 1]!;
      const d: Directive = { name: head.text, args: line.slice(1), file: head.file, line: head.line };
      if (++this.budget.directives > MAX_CADDYFILE_DIRECTIVES) return { file: head.file, line: head.line, message: `more than ${MAX_CADDYFILE_DIRECTIVES} directives in the Caddyfile and its imports` };
      if (!last.quoted && last.text === '{' && line.length > 1) {
        if (nesting >= MAX_NESTING) return { file: last.file, line: last.line, message: `blocks nested more than ${MAX_NESTING} deep` };
        d.args = line.slice(1, -1);
        const body = blockTokens(tokens, i - 1);
        if ('message' in body) return body;
        i = body.next;
        const inner = this.#directives(body.tokens, depth, nesting + 1);
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

/** An import line ending in `{`: the line without it, the block's tokens, and where reading goes on. */
function importBlock(tokens: Token[], at: number, line: Token[]): { line: Token[]; block: Token[]; next: number } | SourceError {
  const last = line[line.length - 1]!;
  if (line.length < 2 || last.quoted || last.text !== '{') return { line, block: [], next: at + line.length };
  const body = blockTokens(tokens, at + line.length - 1);
  if ('message' in body) return body;
  return { line: line.slice(0, -1), block: body.tokens, next: body.next };
}

const VARIADIC = /^\{args\[(\d*):(\d*)\]\}$/;
const BLOCKS = /^\{blocks\.([^{}\s]+)\}$/;

/**
 * Imported tokens with the import's arguments and block put in. A whole token `{args[i:j]}`
 * becomes those arguments (Caddy's variadic form), `{block}` the block's tokens, `{blocks.NAME}`
 * the tokens of the block of NAME's line inside it; `{args[N]}` inside a token is replaced by text.
 */
function pasteArgs(tokens: readonly Token[], argTokens: Token[], block: Token[], origin: number): Token[] | { message: string } {
  const args = argTokens.map((a) => a.text);
  const out: Token[] = [];
  for (const t of tokens) {
    if (!t.quoted) {
      const v = VARIADIC.exec(t.text);
      if (v) {
        const from = v[1] === '' ? 0 : Number(v[1]);
        const to = v[2] === '' ? args.length : Number(v[2]);
        if (from > to || to > args.length) return { message: `import: ${t.text} is out of range for ${args.length} argument(s)` };
        for (const a of argTokens.slice(from, to)) out.push({ ...t, origin, text: a.text, quoted: a.quoted });
        continue;
      }
      if (t.text === '{block}') {
        for (const b of block) out.push(b);
        continue;
      }
      const named = BLOCKS.exec(t.text);
      if (named) {
        for (const b of namedBlock(block, named[1]!)) out.push(b);
        continue;
      }
    }
    out.push({ ...t, origin, text: replaceArgs(t.text, args) });
  }
  return out;
}

/** The tokens of the block of `name { ... }` among a block's top-level lines (none when absent). */
function namedBlock(block: Token[], name: string): Token[] {
  let depth = 0;
  for (let i = 0; i < block.length; i++) {
    const t = block[i]!;
    if (!t.quoted && t.text === '{') depth++;
    else if (!t.quoted && t.text === '}') depth--;
    else if (depth === 0 && t.text === name && !t.quoted && (i === 0 || block[i - 1]!.line !== t.line || block[i - 1]!.origin !== t.origin)) {
      const open = block[i + 1];
      if (open && !open.quoted && open.text === '{') {
        const body = blockTokens(block, i + 1);
        return 'message' in body ? [] : body.tokens;
      }
    }
  }
  return [];
}

function replaceArgs(text: string, args: string[]): string {
  if (!text.includes('{args')) return text;
  return text.replace(/\{args(?:\[(\d+)\]|\.(\d+))\}/g, (_, a: string | undefined, b: string | undefined) => args[Number(a ?? b)] ?? '');
}
