/**
 * A parser of JavaScript regular expressions as V8 reads them without the `u` flag (ECMAScript
 * with Annex B: https://tc39.es/ecma262/#sec-regular-expressions-patterns), into a tree the
 * case folding (case-fold.ts) and the backtracking analysis (ambiguity.ts) walk. It is run
 * only on patterns V8 has already compiled, so it trusts their syntax and keeps, for every
 * node, the span of source it came from: rewrites copy the source, and messages quote it.
 */

/** One code unit from a set: a literal, an escape, a class, or "." (its set: charset.ts). */
export interface CharNode {
  type: 'char';
  /** Source text V8 reads as this one atom; for 'backslash' (a "\c" not followed by a letter) it is "\". */
  text: string;
  kind: 'literal' | 'escape' | 'class' | 'dot' | 'backslash';
  start: number;
  end: number;
}

export type Node =
  | CharNode
  | { type: 'empty'; start: number; end: number }
  | { type: 'seq'; items: Node[]; start: number; end: number }
  | { type: 'alt'; options: Node[]; start: number; end: number }
  /** `index`: the capture number, undefined for (?:...). */
  | { type: 'group'; index: number | undefined; body: Node; start: number; end: number }
  | { type: 'look'; behind: boolean; negate: boolean; body: Node; start: number; end: number }
  /** ^ $ \b \B */
  | { type: 'assert'; text: string; start: number; end: number }
  | { type: 'backref'; index: number; start: number; end: number }
  | { type: 'repeat'; body: Node; min: number; max: number; lazy: boolean; start: number; end: number };

export interface Parsed {
  source: string;
  root: Node;
  captures: number;
  /** Capture numbers of named groups. */
  names: ReadonlyMap<string, number>;
}

/** Thrown for what this parser does not follow; callers then treat the pattern as unknown. */
export class UnsupportedSyntax extends Error {}

export function parseRegex(source: string): Parsed {
  const { count, names } = scanGroups(source);
  const p = new Parser(source, count, names);
  const root = p.disjunction();
  if (p.pos !== source.length) throw new UnsupportedSyntax(`unexpected "${source[p.pos]}" at ${p.pos}`);
  return { source, root, captures: count, names };
}

/** Capture groups in source order (V8 counts them ahead to tell "\12" a backreference from an octal escape). */
function scanGroups(src: string): { count: number; names: Map<string, number> } {
  let count = 0;
  const names = new Map<string, number>();
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === '[') i = classEnd(src, i) - 1;
    else if (c === '(') {
      if (src[i + 1] !== '?') count++;
      else if (src[i + 2] === '<' && src[i + 3] !== '=' && src[i + 3] !== '!') {
        const close = src.indexOf('>', i);
        names.set(src.slice(i + 3, close), ++count);
      }
    }
  }
  return { count, names };
}

/** The index after the "]" closing the class that opens at `open` (the first unescaped "]"). */
function classEnd(src: string, open: number): number {
  let i = open + 1;
  if (src[i] === '^') i++;
  while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
  if (i >= src.length) throw new UnsupportedSyntax('unterminated class');
  return i + 1;
}

const BRACE = /^\{(\d+)(?:(,)(\d*))?\}/;
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isOctal = (c: string | undefined) => c !== undefined && c >= '0' && c <= '7';
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);
const MAX_COUNT = 2 ** 31 - 1;

class Parser {
  pos = 0;

  constructor(
    readonly src: string,
    readonly captureCount: number,
    readonly names: ReadonlyMap<string, number>,
  ) {}

  #nextCapture = 0;

  disjunction(): Node {
    const start = this.pos;
    const options = [this.alternative()];
    while (this.src[this.pos] === '|') {
      this.pos++;
      options.push(this.alternative());
    }
    return options.length === 1 ? options[0]! : { type: 'alt', options, start, end: this.pos };
  }

  alternative(): Node {
    const start = this.pos;
    const items: Node[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') items.push(this.term());
    if (items.length === 0) return { type: 'empty', start, end: start };
    return items.length === 1 ? items[0]! : { type: 'seq', items, start, end: this.pos };
  }

  term(): Node {
    const start = this.pos;
    const { node, quantifiable } = this.atom();
    if (!quantifiable) return node;
    const q = this.quantifier();
    if (!q) return node;
    return { type: 'repeat', body: node, ...q, start, end: this.pos };
  }

  quantifier(): { min: number; max: number; lazy: boolean } | undefined {
    const c = this.src[this.pos];
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = BRACE.exec(this.src.slice(this.pos));
      if (!m) return undefined; // Annex B: a "{" that is no quantifier is a literal
      min = Math.min(Number(m[1]), MAX_COUNT);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Math.min(Number(m[3]), MAX_COUNT);
      this.pos += m[0].length - 1;
    } else return undefined;
    this.pos++;
    const lazy = this.src[this.pos] === '?';
    if (lazy) this.pos++;
    return { min, max, lazy };
  }

  atom(): { node: Node; quantifiable: boolean } {
    const src = this.src;
    const start = this.pos;
    const c = src[this.pos]!;
    const char = (kind: CharNode['kind'], end: number): { node: Node; quantifiable: boolean } => {
      this.pos = end;
      return { node: { type: 'char', kind, text: src.slice(start, end), start, end }, quantifiable: true };
    };
    switch (c) {
      case '^':
      case '$':
        this.pos++;
        return { node: { type: 'assert', text: c, start, end: this.pos }, quantifiable: false };
      case '.':
        return char('dot', start + 1);
      case '[':
        return char('class', classEnd(src, start));
      case '(':
        return this.group();
      case '\\':
        return this.escape();
      case '*':
      case '+':
      case '?':
        throw new UnsupportedSyntax('nothing to repeat');
      case '{':
        if (BRACE.test(src.slice(start))) throw new UnsupportedSyntax('nothing to repeat');
        return char('literal', start + 1);
      default:
        return char('literal', start + 1);
    }
  }

  group(): { node: Node; quantifiable: boolean } {
    const src = this.src;
    const start = this.pos;
    let kind: 'capture' | 'plain' | 'ahead' | 'behind' = 'capture';
    let negate = false;
    if (src.startsWith('(?:', start)) [kind, this.pos] = ['plain', start + 3];
    else if (src.startsWith('(?=', start) || src.startsWith('(?!', start)) [kind, negate, this.pos] = ['ahead', src[start + 2] === '!', start + 3];
    else if (src.startsWith('(?<=', start) || src.startsWith('(?<!', start)) [kind, negate, this.pos] = ['behind', src[start + 3] === '!', start + 4];
    else if (src.startsWith('(?<', start)) this.pos = src.indexOf('>', start) + 1;
    else if (src[start + 1] === '?') throw new UnsupportedSyntax(`group "${src.slice(start, start + 3)}"`);
    else this.pos = start + 1;
    const index = kind === 'capture' ? ++this.#nextCapture : undefined;
    const body = this.disjunction();
    if (src[this.pos] !== ')') throw new UnsupportedSyntax('unterminated group');
    this.pos++;
    const end = this.pos;
    if (kind === 'ahead' || kind === 'behind')
      // Annex B lets a lookahead, not a lookbehind, carry a quantifier.
      return { node: { type: 'look', behind: kind === 'behind', negate, body, start, end }, quantifiable: kind === 'ahead' };
    return { node: { type: 'group', index, body, start, end }, quantifiable: true };
  }

  escape(): { node: Node; quantifiable: boolean } {
    const src = this.src;
    const start = this.pos;
    const c = src[start + 1];
    const char = (kind: CharNode['kind'], end: number): { node: Node; quantifiable: boolean } => {
      this.pos = end;
      return { node: { type: 'char', kind, text: src.slice(start, end), start, end }, quantifiable: true };
    };
    if (c === undefined) throw new UnsupportedSyntax('"\\" at the end');
    if (c === 'b' || c === 'B') {
      this.pos = start + 2;
      return { node: { type: 'assert', text: src.slice(start, start + 2), start, end: this.pos }, quantifiable: false };
    }
    if (c >= '1' && c <= '9') {
      let end = start + 1;
      while (isDigit(src[end])) end++;
      const n = Number(src.slice(start + 1, end));
      if (n <= this.captureCount) {
        this.pos = end;
        return { node: { type: 'backref', index: n, start, end }, quantifiable: true };
      }
      if (c === '8' || c === '9') return char('escape', start + 2); // an identity escape
      return char('escape', octalEnd(src, start + 1));
    }
    if (c === '0') return char('escape', isDigit(src[start + 2]) ? octalEnd(src, start + 1) : start + 2);
    if (c === 'k' && this.names.size > 0) {
      const close = src.indexOf('>', start);
      const index = this.names.get(src.slice(start + 3, close));
      if (src[start + 2] !== '<' || index === undefined) throw new UnsupportedSyntax('bad \\k');
      this.pos = close + 1;
      return { node: { type: 'backref', index, start, end: this.pos }, quantifiable: true };
    }
    if (c === 'c') {
      const letter = src[start + 2];
      if (letter !== undefined && /^[A-Za-z]$/.test(letter)) return char('escape', start + 3);
      return char('backslash', start + 1); // Annex B: "\c" without a letter is a backslash, then a "c"
    }
    if (c === 'x') return char('escape', isHex(src[start + 2]) && isHex(src[start + 3]) ? start + 4 : start + 2);
    if (c === 'u') {
      const hex = [2, 3, 4, 5].every((k) => isHex(src[start + k]));
      return char('escape', hex ? start + 6 : start + 2);
    }
    return char('escape', start + 2);
  }
}

/** Annex B's LegacyOctalEscapeSequence: up to three octal digits, at most \377. */
function octalEnd(src: string, first: number): number {
  let end = first + 1;
  if (isOctal(src[end])) {
    end++;
    if (src[first]! <= '3' && isOctal(src[end])) end++;
  }
  return end;
}

/** Calls `visit` on every node, parents first. */
export function walk(node: Node, visit: (n: Node) => void): void {
  visit(node);
  switch (node.type) {
    case 'seq':
      for (const i of node.items) walk(i, visit);
      return;
    case 'alt':
      for (const o of node.options) walk(o, visit);
      return;
    case 'group':
    case 'look':
    case 'repeat':
      walk(node.body, visit);
      return;
    default:
      return;
  }
}

/** Whether the node can match the empty string (assertions and backreferences can). */
export function matchesEmpty(node: Node): boolean {
  switch (node.type) {
    case 'char':
      return false;
    case 'seq':
      return node.items.every(matchesEmpty);
    case 'alt':
      return node.options.some(matchesEmpty);
    case 'group':
      return matchesEmpty(node.body);
    case 'repeat':
      return node.min === 0 || matchesEmpty(node.body);
    default:
      return true;
  }
}
