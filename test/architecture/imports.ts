/**
 * Every module specifier a TypeScript file imports: `import ... from`, `import type ... from`,
 * `import '...'`, `export ... from` and `import('...')`. TypeScript itself (7, native) has no
 * JavaScript parser API here, so this is a small tokenizer: comments, strings, template
 * literals and regular-expression literals are skipped as such, so an import-like text inside
 * them is not taken for one, and one after them is not missed. imports.test.ts checks it
 * against V8's own list of every compiled file's static imports.
 */

/** Words after which a "/" starts a regular expression, not a division. */
const BEFORE_REGEX = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'yield', 'await', 'instanceof']);

type Token = { kind: 'word' | 'string' | 'punct'; text: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  /** Open `{` and template `${`, innermost last: a `}` closes the innermost. */
  const braces: ('brace' | 'template')[] = [];
  let i = 0;
  const n = src.length;

  const readQuoted = (quote: string): string => {
    let value = '';
    i++;
    while (i < n && src[i] !== quote) {
      if (src[i] === '\\') i++;
      value += src[i];
      i++;
    }
    i++;
    return value;
  };

  /** The rest of a template literal from `i` (just after "`" or a closing "}"): to its end, or into a `${`. */
  const readTemplate = (): void => {
    while (i < n) {
      const c = src[i];
      if (c === '\\') {
        i += 2;
      } else if (c === '`') {
        i++;
        tokens.push({ kind: 'string', text: '' });
        return;
      } else if (c === '$' && src[i + 1] === '{') {
        i += 2;
        braces.push('template');
        tokens.push({ kind: 'punct', text: '(' }); // an expression follows
        return;
      } else i++;
    }
  };

  const regexAllowed = (): boolean => {
    const last = tokens[tokens.length - 1];
    if (last === undefined) return true;
    if (last.kind === 'word') return BEFORE_REGEX.has(last.text);
    if (last.kind === 'string') return false;
    return last.text !== ')' && last.text !== ']';
  };

  const readRegex = (): void => {
    i++;
    let inClass = false;
    while (i < n) {
      const c = src[i];
      if (c === '\\') i += 2;
      else {
        i++;
        if (c === '[') inClass = true;
        else if (c === ']') inClass = false;
        else if (c === '/' && !inClass) break;
      }
    }
    while (i < n && /[a-z]/i.test(src[i]!)) i++;
    tokens.push({ kind: 'string', text: '' });
  };

  while (i < n) {
    const c = src[i]!;
    const next = src[i + 1];
    if (/\s/.test(c)) i++;
    else if (c === '/' && next === '/') {
      while (i < n && src[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === '/' && regexAllowed()) readRegex();
    else if (c === "'" || c === '"') tokens.push({ kind: 'string', text: readQuoted(c) });
    else if (c === '`') {
      i++;
      readTemplate();
    } else if (/[A-Za-z0-9_$]/.test(c)) {
      let word = '';
      while (i < n && /[A-Za-z0-9_$]/.test(src[i]!)) word += src[i++];
      tokens.push({ kind: 'word', text: word });
    } else {
      i++;
      if (c === '{') braces.push('brace');
      else if (c === '}' && braces.pop() === 'template') {
        tokens.push({ kind: 'punct', text: ')' });
        readTemplate();
        continue;
      }
      tokens.push({ kind: 'punct', text: c });
    }
  }
  return tokens;
}

/** The module specifiers `src` imports or re-exports, in order. */
export function importsOf(src: string): string[] {
  const tokens = tokenize(src);
  const out: string[] = [];
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]!;
    if (token.kind !== 'word' || (token.text !== 'import' && token.text !== 'export')) continue;
    const before = tokens[t - 1];
    if (before?.kind === 'punct' && before.text === '.') continue; // x.import
    const next = tokens[t + 1];
    if (token.text === 'import' && next?.kind === 'string') out.push(next.text); // import '...'
    else if (token.text === 'import' && next?.text === '(' && tokens[t + 2]?.kind === 'string') out.push(tokens[t + 2]!.text);
    else if (token.text === 'import' && next?.text === '.') continue; // import.meta
    else {
      // import/export ... from '...' (export without `from` declares, and ends at its `;` or body).
      for (let k = t + 1; k < tokens.length && k < t + 400; k++) {
        const tk = tokens[k]!;
        if (tk.kind === 'punct' && (tk.text === ';' || tk.text === '=' || tk.text === '(')) break;
        if (tk.kind === 'word' && (tk.text === 'import' || tk.text === 'export') && k > t + 1 && tokens[k - 1]?.text !== '.') break;
        if (tk.kind === 'word' && tk.text === 'from' && tokens[k + 1]?.kind === 'string') {
          out.push(tokens[k + 1]!.text);
          break;
        }
      }
    }
  }
  return out;
}
