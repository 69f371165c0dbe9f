/**
 * Caddyfile text -> tokens, after Caddy's lexer (caddyconfig/caddyfile/lexer.go,
 * https://caddyserver.com/docs/caddyfile/concepts#tokens-and-quotes):
 *  - tokens are separated by whitespace; a newline ends a directive's line;
 *  - `"..."` quotes (with `\"` for a quote; other backslashes stay), backticks quote raw text;
 *  - `#` starts a comment only where a token could start;
 *  - heredocs `<<MARKER ... MARKER` (the closing marker's indentation is stripped from each line);
 *  - `{$ENV}` and `{$ENV:default}` are replaced before tokenizing, as Caddy does.
 */
import type { SourceError } from '../diagnostics.js';

export interface Token {
  text: string;
  file: string;
  line: number;
  /** Written in quotes: `"{"` is a word, not a block. */
  quoted: boolean;
  /** Which import pasted it (0: the file itself): lines only group tokens of the same origin. */
  origin?: number;
}

export function replaceEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\{\$([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => env[name] ?? fallback ?? '');
}

export function tokenize(text: string, file: string): Token[] | SourceError {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i]!;
    if (ch === '\n') {
      line++;
      i++;
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
        if (c === '\\' && i + 1 < n && (text[i + 1] === '"' || text[i + 1] === '\n')) {
          if (text[i + 1] === '\n') line++;
          val += text[i + 1];
          i += 2;
          continue;
        }
        if (c === '"') break;
        if (c === '\n') line++;
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
      line += val.split('\n').length - 1;
      out.push({ text: val, file, line: start, quoted: true });
      i = end + 1;
      continue;
    }
    if (text.startsWith('<<', i) && /^<<[A-Za-z_]\w*\s*\n/.test(text.slice(i))) {
      const heredoc = readHeredoc(text, i, line, file);
      if ('message' in heredoc) return heredoc;
      out.push({ text: heredoc.value, file, line: start, quoted: true });
      line = heredoc.line;
      i = heredoc.end;
      continue;
    }
    let val = '';
    while (i < n && !' \t\r\n'.includes(text[i]!)) val += text[i++];
    out.push({ text: val, file, line: start, quoted: false });
  }
  return out;
}

function readHeredoc(text: string, at: number, line: number, file: string): { value: string; end: number; line: number } | SourceError {
  const m = /^<<([A-Za-z_]\w*)\s*\n/.exec(text.slice(at))!;
  const marker = m[1]!;
  const bodyStart = at + m[0].length;
  const close = new RegExp(`^([ \\t]*)${marker}[ \\t]*$`, 'm');
  const rest = text.slice(bodyStart);
  const cm = close.exec(rest);
  if (!cm) return { file, line, message: `heredoc marker "${marker}" is never closed` };
  const indent = cm[1]!;
  const body = rest.slice(0, cm.index).replace(/\n$/, '');
  const value = body
    .split('\n')
    .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
    .join('\n');
  const end = bodyStart + cm.index + cm[0].length;
  return { value, end, line: line + text.slice(at, end).split('\n').length - 1 };
}
