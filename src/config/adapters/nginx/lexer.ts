/**
 * nginx.conf text -> tokens, following ngx_conf_read_token (src/core/ngx_conf_file.c):
 *  - whitespace separates words; `;` ends a directive, `{` opens a block, `}` closes one;
 *  - `#` starts a comment only where a word could start ("a#b" is one word);
 *  - `"..."` and `'...'` quote a word only at its start, and must be followed by whitespace,
 *    `;`, `{` or `)`;
 *  - a backslash takes the next character literally while scanning; when the word is copied,
 *    `\"`, `\'` and `\\` lose the backslash, `\t` `\r` `\n` become control characters, and any
 *    other `\x` is kept as written (so a regex's `\.` survives);
 *  - `${` does not open a block (`${var}` is a variable), and `}` inside a word is literal.
 */
import type { SourceError } from '../diagnostics.js';
import { MAX_TOKENS } from '../read-limits.js';

export type TokenKind = 'word' | ';' | '{' | '}' | 'eof';

export interface Token {
  kind: TokenKind;
  /** The word after quote and escape processing. */
  text: string;
  /** Whether the word was written in quotes ("" is a real, empty argument). */
  quoted: boolean;
  line: number;
  col: number;
}

export function tokenize(text: string, file: string): Token[] | SourceError {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = text.length;
  const err = (message: string, at = i): SourceError => ({ file, line, col: at - lineStart + 1, message });

  while (i < n) {
    if (tokens.length > MAX_TOKENS) return err(`more than ${MAX_TOKENS} words in one file`);
    const ch = text[i]!;
    if (ch === '\n') {
      i++;
      line++;
      lineStart = i;
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
    const col = i - lineStart + 1;
    if (ch === ';' || ch === '{' || ch === '}') {
      tokens.push({ kind: ch, text: ch, quoted: false, line, col });
      i++;
      continue;
    }
    const startLine = line;
    if (ch === '"' || ch === "'") {
      const quote = ch;
      i++;
      const begin = i;
      while (i < n && text[i] !== quote) {
        if (text[i] === '\\' && i + 1 < n) i++;
        if (text[i] === '\n') {
          line++;
          lineStart = i + 1;
        }
        i++;
      }
      // nginx names the line where the file ended, not the one the quote opened on.
      if (i >= n) return err('unexpected end of file, expecting ";" or "}"');
      tokens.push({ kind: 'word', text: unescape(text.slice(begin, i)), quoted: true, line: startLine, col });
      i++;
      const next = text[i];
      if (next !== undefined && !' \t\r\n;{)'.includes(next)) return err(`unexpected "${next}"`);
      continue;
    }
    const begin = i;
    let variable = false;
    while (i < n) {
      const c = text[i]!;
      if (c === '{' && variable) {
        i++;
        continue;
      }
      variable = false;
      if (c === '\\' && i + 1 < n) {
        i += 2;
        continue;
      }
      if (c === '$') {
        variable = true;
        i++;
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === ';' || c === '{') break;
      i++;
    }
    tokens.push({ kind: 'word', text: unescape(text.slice(begin, i)), quoted: false, line, col });
  }
  tokens.push({ kind: 'eof', text: '', quoted: false, line, col: i - lineStart + 1 });
  return tokens;
}

function unescape(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const next = raw[i + 1]!;
      if (next === '"' || next === "'" || next === '\\') {
        out += next;
        i++;
        continue;
      }
      if (next === 't' || next === 'r' || next === 'n') {
        out += next === 't' ? '\t' : next === 'r' ? '\r' : '\n';
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}
