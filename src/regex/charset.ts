/**
 * The code units one atom of a pattern matches ("a", "\w", "[^/]", "."), with or without the
 * `i` flag, asked of V8 itself rather than re-implemented: the atom, repeated, is run over a
 * string of all 65,536 code units, and each match is one range. Without the `u` flag a pattern
 * sees code units, so this set is exact, case folding (ECMAScript's Canonicalize) included.
 */
import type { CharNode } from './syntax.js';

/** Sorted, disjoint, inclusive ranges as [lo0, hi0, lo1, hi1, ...]. */
export type CharSet = readonly number[];

let every: string | undefined;

/** Every code unit, in order (built once, on first use). */
function allCodeUnits(): string {
  if (every === undefined) {
    const parts: string[] = [];
    const chunk: number[] = [];
    for (let c = 0; c < 0x10000; c++) {
      chunk.push(c);
      if (chunk.length === 4096) parts.push(String.fromCharCode(...chunk.splice(0)));
    }
    every = parts.join('');
  }
  return every;
}

const cache = new Map<string, CharSet>();

/** What a one-unit atom (as written in a pattern) matches; `text` must be valid on its own. */
export function atomSet(text: string, ignoreCase: boolean): CharSet {
  const key = (ignoreCase ? 'i' : '-') + text;
  let set = cache.get(key);
  if (set === undefined) {
    set = runsOf(new RegExp(`(?:${text})+`, ignoreCase ? 'gi' : 'g'));
    cache.set(key, set);
  }
  return set;
}

function runsOf(re: RegExp): CharSet {
  const all = allCodeUnits();
  const out: number[] = [];
  for (let m = re.exec(all); m !== null; m = re.exec(all)) out.push(m.index, m.index + m[0].length - 1);
  return out;
}

/** The atom's text as it can stand alone (a literal may be a metacharacter such as "/"; "\c" alone is a backslash). */
export function standalone(node: CharNode): string {
  if (node.kind === 'literal' || node.kind === 'backslash') return unit(node.text.charCodeAt(0));
  return node.text;
}

export function nodeSet(node: CharNode, ignoreCase: boolean): CharSet {
  return atomSet(standalone(node), ignoreCase);
}

export function intersects(a: CharSet, b: CharSet): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i + 1]! < b[j]!) i += 2;
    else if (b[j + 1]! < a[i]!) j += 2;
    else return true;
  }
  return false;
}

/** The intersection of two sets. */
export function intersect(a: CharSet, b: CharSet): CharSet {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i]!, b[j]!);
    const hi = Math.min(a[i + 1]!, b[j + 1]!);
    if (lo <= hi) out.push(lo, hi);
    if (a[i + 1]! < b[j + 1]!) i += 2;
    else j += 2;
  }
  return out;
}

export function sameSet(a: CharSet, b: CharSet): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function size(a: CharSet): number {
  let n = 0;
  for (let i = 0; i < a.length; i += 2) n += a[i + 1]! - a[i]! + 1;
  return n;
}

/** The code units not in `a`. */
export function complement(a: CharSet): CharSet {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < a.length; i += 2) {
    if (a[i]! > next) out.push(next, a[i]! - 1);
    next = a[i + 1]! + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

/** A class matching exactly `a`, written with \uXXXX escapes (the shorter of [...] and [^...]). */
export function classText(a: CharSet): string {
  const negate = size(a) > 0x8000;
  const body = negate ? complement(a) : a;
  let text = '';
  for (let i = 0; i < body.length; i += 2) {
    const lo = body[i]!;
    const hi = body[i + 1]!;
    text += lo === hi ? unit(lo) : hi === lo + 1 ? unit(lo) + unit(hi) : `${unit(lo)}-${unit(hi)}`;
  }
  return negate ? `[^${text}]` : `[${text}]`;
}

/** One code unit in a class: letters and digits as themselves (readable), the rest escaped. */
function unit(c: number): string {
  const ch = String.fromCharCode(c);
  return /^[A-Za-z0-9]$/.test(ch) ? ch : '\\u' + c.toString(16).padStart(4, '0');
}
