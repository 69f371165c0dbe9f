/**
 * Caddyfile text -> tokens, after Caddy's lexer (caddyconfig/caddyfile/lexer.go,
 * https://caddyserver.com/docs/caddyfile/concepts#tokens-and-quotes):
 *  - tokens are separated by whitespace; a newline ends a directive's line, unless a backslash
 *    escapes it (line continuation: the next line's tokens belong to the same line, and carry
 *    its number, as in Caddy's lexer);
 *  - `"..."` quotes (with `\"` for a quote; any other backslash stays, with the character after
 *    it: `"a\\"` is `a\\`), backticks quote raw text;
 *  - `#` starts a comment only where a token could start;
 *  - heredocs `<<MARKER ... MARKER` (the closing marker's indentation is stripped from each line);
 *  - `{$ENV}` and `{$ENV:default}` are replaced before tokenizing, as Caddy does.
 */
import type { SourceError } from '../diagnostics.js';
import { MAX_TOKENS } from '../read-limits.js';

export interface Token {
  text: string;
  file: string;
  line: number;
  /** Written in quotes: `"{"` is a word, not a block. */
  quoted: boolean;
  /** Which import pasted it (0: the file itself): lines only group tokens of the same origin. */
  origin?: number;
}

/**
 * `{$NAME}` and `{$NAME:default}` replaced, in one pass: a scan, not a regex whose `[^}]*`
 * would run to the end of the text again for every `{$X:` that is never closed.
 */
export function replaceEnv(text: string, env: NodeJS.ProcessEnv): string {
  let out = '';
  let last = 0;
  let close = -2; // the next "}" at or after the current position (-1: none left)
  for (let at = text.indexOf('{$'); at >= 0; at = text.indexOf('{$', at + 1)) {
    const m = ENV_NAME.exec(text.slice(at + 2, at + 2 + 256));
    if (!m) continue;
    const afterName = at + 2 + m[0].length;
    let end: number;
    let fallback: string | undefined;
    if (text[afterName] === '}') end = afterName;
    else if (text[afterName] === ':') {
      if (close !== -1 && close < afterName) close = text.indexOf('}', afterName);
      if (close < 0) break; // no "}" anywhere after: nothing more to replace
      end = close;
      fallback = text.slice(afterName + 1, end);
    } else continue;
    out += text.slice(last, at) + (env[m[0]] ?? fallback ?? '');
    last = end + 1;
    at = end;
  }
  return out + text.slice(last);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const HEREDOC_START = /<<([A-Za-z_]\w*)[ \t\r]*\n/y;

export function tokenize(text: string, file: string): Token[] | SourceError {
  const out: Token[] = [];
  let line = 1;
  /** Newlines escaped by a backslash since the last real one: counted when that one comes. */
  let skipped = 0;
  const newline = () => {
    line += 1 + skipped;
    skipped = 0;
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (out.length > MAX_TOKENS) return { file, line, message: `more than ${MAX_TOKENS} tokens in one file` };
    const ch = text[i]!;
    if (ch === '\n') {
      newline();
      i++;
      continue;
    }
    const continued = continuation(text, i);
    if (continued > 0) {
      skipped++;
      i += continued;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
      continue;
    }
    if (ch === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    const start = line;
    if (ch === '"') {
      let val = '';
      i++;
      for (;;) {
        if (i >= n) return { file, line: start, message: 'unterminated quoted string' };
        const c = text[i]!;
        if (c === '\\' && i + 1 < n) {
          // Caddy escapes only the quote; any other pair is kept as written.
          const next = text[i + 1]!;
          if (next === '\n') skipped++;
          val += next === '"' ? '"' : c + next;
          i += 2;
          continue;
        }
        if (c === '"') break;
        if (c === '\n') skipped++; // tokens after it on its last line belong to this line (Caddy's NumLineBreaks)
        val += c;
        i++;
      }
      i++;
      out.push({ text: val, file, line: start, quoted: true });
      continue;
    }
    if (ch === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) return { file, line: start, message: 'unterminated backtick string' };
      const val = text.slice(i + 1, end);
      for (let k = val.indexOf('\n'); k >= 0; k = val.indexOf('\n', k + 1)) skipped++;
      out.push({ text: val, file, line: start, quoted: true });
      i = end + 1;
      continue;
    }
    HEREDOC_START.lastIndex = i;
    if (text.startsWith('<<', i) && HEREDOC_START.test(text)) {
      const heredoc = readHeredoc(text, i, line, file);
      if ('message' in heredoc) return heredoc;
      out.push({ text: heredoc.value, file, line: start, quoted: true });
      // Tokens after the closing marker belong to the heredoc's line, as after a continuation.
      skipped += heredoc.line - line;
      i = heredoc.end;
      continue;
    }
    let val = '';
    while (i < n && !' \t\r\n'.includes(text[i]!) && continuation(text, i) === 0) val += text[i++];
    out.push({ text: val, file, line: start, quoted: false });
  }
  return out;
}

/** The length of a backslash followed by a newline (LF or CRLF) at `i`, or 0. */
function continuation(text: string, i: number): number {
  if (text.charCodeAt(i) !== 92 /* \\ */) return 0;
  if (text[i + 1] === '\n') return 2;
  return text[i + 1] === '\r' && text[i + 2] === '\n' ? 3 : 0;
}

/**
 * The body of a heredoc up to the line that starts with its marker (after spaces; more tokens
 * may follow it, as in Caddy's lexer); that line's indentation is removed from every body line. Found by scanning lines, in time
 * linear in the text, whatever the marker's length.
 */
function readHeredoc(text: string, at: number, line: number, file: string): { value: string; end: number; line: number } | SourceError {
  HEREDOC_START.lastIndex = at;
  const m = HEREDOC_START.exec(text)!;
  const marker = m[1]!;
  const bodyStart = at + m[0].length;
  let lines = 1; // the opening line
  for (let start = bodyStart; start <= text.length; ) {
    let stop = text.indexOf('\n', start);
    if (stop < 0) stop = text.length;
    let j = start;
    while (j < stop && (text[j] === ' ' || text[j] === '\t')) j++;
    let k = stop;
    while (k > j && (text[k - 1] === ' ' || text[k - 1] === '\t' || text[k - 1] === '\r')) k--;
    // The marker ends the heredoc; the rest of its line goes on as tokens (`EOF 200`).
    const after = j + marker.length;
    if (text.startsWith(marker, j) && (after === k || text[after] === ' ' || text[after] === '\t')) {
      const indent = text.slice(start, j);
      const body = text.slice(bodyStart, Math.max(bodyStart, start - 1));
      const value = body
        .split('\n')
        .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
        .join('\n');
      return { value, end: after, line: line + lines };
    }
    if (stop === text.length) break;
    lines++;
    start = stop + 1;
  }
  return { file, line, message: `heredoc marker "${marker.length > 40 ? marker.slice(0, 40) + '...' : marker}" is never closed` };
}
