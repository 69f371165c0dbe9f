/**
 * A case-insensitive pattern (nginx's `~*`, a leading `(?i)`, a server name) rewritten into the
 * case-sensitive pattern that matches exactly the same strings, so that V8's linear-time
 * engine, which refuses the `i` flag in Node 20, can run it. Every one-unit atom is replaced by
 * the class of what it matches under `i` ("a" -> [Aa], "[a-z]" -> [A-Za-z], "[^k]" -> [^Kk],
 * "\u00e9" -> [\u00c9\u00e9]), computed by V8 itself (charset.ts), so ECMAScript's
 * Canonicalize is followed to the letter, Unicode included; atoms without case stay as written.
 * Backreferences compare case-insensitively under `i`: no rewrite exists, and undefined is returned.
 */
import { atomSet, classText, sameSet, standalone } from './charset.js';
import { walk, type Parsed } from './syntax.js';

export function foldCase(parsed: Parsed, source: string): string | undefined {
  const edits: { start: number; end: number; text: string }[] = [];
  let backref = false;
  walk(parsed.root, (n) => {
    if (n.type === 'backref') backref = true;
    if (n.type !== 'char') return;
    // Annex B's lone "\" (from "\c" before a non-letter) must stay a backslash whatever follows it now.
    if (n.kind === 'backslash') return edits.push({ start: n.start, end: n.end, text: '\\\\' });
    const text = standalone(n);
    const folded = atomSet(text, true);
    if (!sameSet(folded, atomSet(text, false))) edits.push({ start: n.start, end: n.end, text: classText(folded) });
  });
  if (backref) return undefined;
  let out = '';
  let at = 0;
  for (const e of edits.sort((a, b) => a.start - b.start)) {
    out += source.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + source.slice(at);
}
