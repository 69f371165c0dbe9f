/**
 * The `expression` matcher's common CEL forms (https://caddyserver.com/docs/caddyfile/matchers#expression)
 * -> a Portico route `match` set:
 *   a && b, a || b, !a, ( ... )
 *   {placeholder} == 'x', != 'x', in ['x', 'y'], .startsWith('x'), .endsWith('x'),
 *   .contains('x'), .matches('re')      (vars / vars_regexp on the placeholder's expansion)
 *   path('/a*', ...), path_regexp([name,] 're'), method('GET', ...), host('a.example', ...),
 *   header({'Field': 'v' | ['v', ...]}), header_regexp([name,] 'Field', 're'),
 *   query({'k': 'v' | ['v', ...]}), protocol('https'), remote_ip('10.0.0.0/8', ...), client_ip(...)
 * Anything else is unsupported (the caller leaves the directive out or refuses the config);
 * nothing is guessed. The parser is a plain recursive descent over at most a few hundred
 * characters, bounded in depth.
 */
import type { RouteMatchInput } from '../../match-schema.js';
import { convertPlaceholders } from './placeholders.js';

export type Parsed = { ok: true; set: RouteMatchInput } | { ok: false; why: string };

type Tok = { t: 'str'; v: string } | { t: 'ph'; v: string } | { t: 'id'; v: string } | { t: 'op'; v: string };

const MAX_DEPTH = 32;

export function parseExpression(text: string, globToPath: (glob: string) => string, regexToPath: (re: string) => string): Parsed {
  const toks = lex(text);
  if (typeof toks === 'string') return { ok: false, why: toks };
  const p = new Parser(toks, globToPath, regexToPath);
  try {
    const set = p.or(0);
    if (p.i < toks.length) return { ok: false, why: `unexpected "${toks[p.i]!.v}"` };
    return { ok: true, set };
  } catch (err) {
    if (err instanceof Unsupported) return { ok: false, why: err.message };
    throw err;
  }
}

class Unsupported extends Error {}

function lex(s: string): Tok[] | string {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let v = '';
      i++;
      while (i < s.length && s[i] !== c) {
        if (s[i] === '\\' && i + 1 < s.length) {
          const e = s[i + 1]!;
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
        } else v += s[i++];
      }
      if (i >= s.length) return 'unterminated string';
      i++;
      out.push({ t: 'str', v });
      continue;
    }
    if (c === '{') {
      const m = /^\{([^{}\s'"]+)\}/.exec(s.slice(i, i + 256));
      if (m) {
        out.push({ t: 'ph', v: m[0] });
        i += m[0].length;
        continue;
      }
      out.push({ t: 'op', v: '{' });
      i++;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (['&&', '||', '==', '!='].includes(two)) {
      out.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if ('!()[]},:.'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    const id = /^[A-Za-z_]\w*/.exec(s.slice(i, i + 64));
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    return `unexpected character "${c}"`;
  }
  return out;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

class Parser {
  i = 0;
  constructor(
    readonly toks: Tok[],
    readonly globToPath: (glob: string) => string,
    readonly regexToPath: (re: string) => string,
  ) {}

  peek(v?: string): Tok | undefined {
    const t = this.toks[this.i];
    return v === undefined || t?.v === v ? t : undefined;
  }

  expect(v: string): void {
    if (this.toks[this.i]?.v !== v) throw new Unsupported(`expected "${v}"`);
    this.i++;
  }

  or(depth: number): RouteMatchInput {
    if (depth > MAX_DEPTH) throw new Unsupported('nested too deep');
    const sets = [this.and(depth)];
    while (this.peek('||')) {
      this.i++;
      sets.push(this.and(depth));
    }
    return sets.length === 1 ? sets[0]! : { any: sets };
  }

  and(depth: number): RouteMatchInput {
    const sets = [this.unary(depth)];
    while (this.peek('&&')) {
      this.i++;
      sets.push(this.unary(depth));
    }
    return sets.length === 1 ? sets[0]! : { all: sets };
  }

  unary(depth: number): RouteMatchInput {
    if (this.peek('!')) {
      this.i++;
      return { not: [this.unary(depth + 1)] };
    }
    if (this.peek('(')) {
      this.i++;
      const inner = this.or(depth + 1);
      this.expect(')');
      return inner;
    }
    const t = this.toks[this.i];
    if (t?.t === 'id' && this.toks[this.i + 1]?.v === '(') return this.call();
    if (t?.t === 'ph' || t?.t === 'str') return this.comparison();
    throw new Unsupported(t ? `unexpected "${t.v}"` : 'unexpected end');
  }

  /** A string, or a list of strings: ('a', 'b') arguments. */
  args(): string[] {
    this.expect('(');
    const out: string[] = [];
    while (!this.peek(')')) {
      if (out.length > 0) this.expect(',');
      const t = this.toks[this.i++];
      if (t?.t === 'str') out.push(t.v);
      else if (t?.v === '[') out.push(...this.list(true));
      else throw new Unsupported('expected a string argument');
    }
    this.i++;
    return out;
  }

  /** ['a', 'b'] (the "[" already read when `open`). */
  list(open = false): string[] {
    if (!open) this.expect('[');
    const out: string[] = [];
    while (!this.peek(']')) {
      if (out.length > 0) this.expect(',');
      const t = this.toks[this.i++];
      if (t?.t !== 'str') throw new Unsupported('expected a string in the list');
      out.push(t.v);
    }
    this.i++;
    return out;
  }

  /** {'Field': 'v' | ['v', ...], ...} */
  map(): Record<string, string[]> {
    this.expect('(');
    this.expect('{');
    const out: Record<string, string[]> = {};
    while (!this.peek('}')) {
      if (Object.keys(out).length > 0) this.expect(',');
      const k = this.toks[this.i++];
      if (k?.t !== 'str') throw new Unsupported('expected a string key');
      this.expect(':');
      const v = this.toks[this.i];
      if (v?.t === 'str') {
        this.i++;
        (out[k.v] ??= []).push(v.v);
      } else (out[k.v] ??= []).push(...this.list());
    }
    this.i++;
    this.expect(')');
    return out;
  }

  call(): RouteMatchInput {
    const name = this.toks[this.i++]!.v;
    switch (name) {
      case 'path':
        return { path: this.args().map(this.globToPath) };
      case 'path_regexp': {
        const a = this.args();
        if (a.length < 1 || a.length > 2) throw new Unsupported('path_regexp takes a regex and an optional name');
        return { path: [this.regexToPath(a[a.length - 1]!)] };
      }
      case 'method':
        return { method: this.args() };
      case 'host':
        return { host: this.args() };
      case 'protocol': {
        const a = this.args();
        if (a.length !== 1) throw new Unsupported('protocol takes one value');
        return { protocol: a[0]!.toLowerCase() as RouteMatchInput['protocol'] };
      }
      case 'remote_ip':
      case 'client_ip':
        return { remote_ip: this.args().filter((a) => a !== 'forwarded') };
      case 'header':
        return { header: this.map() };
      case 'query':
        return { query: this.map() };
      case 'header_regexp': {
        const a = this.args();
        if (a.length < 2 || a.length > 3) throw new Unsupported('header_regexp takes a field and a regex, and an optional name first');
        return { header_regexp: { [a[a.length - 2]!]: goRegex(a[a.length - 1]!) } };
      }
    }
    throw new Unsupported(`${name}() is not a matcher Portico can check`);
  }

  comparison(): RouteMatchInput {
    const left = this.toks[this.i++]!;
    const op = this.toks[this.i];
    if (op?.v === '==' || op?.v === '!=') {
      this.i++;
      const right = this.toks[this.i++];
      const [ph, lit] = left.t === 'ph' ? [left, right] : [right, left];
      if (ph?.t !== 'ph' || lit?.t !== 'str') throw new Unsupported('a comparison needs a placeholder and a string');
      const set: RouteMatchInput = { vars: { [template(ph.v)]: [lit.v] } };
      return op.v === '==' ? set : { not: [set] };
    }
    if (left.t !== 'ph') throw new Unsupported('expected a placeholder');
    const key = template(left.v);
    if (op?.v === 'in' || (op?.t === 'id' && op.v === 'in')) {
      this.i++;
      return { vars: { [key]: this.list() } };
    }
    if (op?.v === '.') {
      this.i++;
      const fn = this.toks[this.i++];
      const a = this.args();
      if (a.length !== 1) throw new Unsupported('expected one argument');
      const s = a[0]!;
      switch (fn?.v) {
        case 'startsWith':
          return { vars_regexp: { [key]: `^${esc(s)}` } };
        case 'endsWith':
          return { vars_regexp: { [key]: `${esc(s)}$` } };
        case 'contains':
          return { vars_regexp: { [key]: esc(s) } };
        case 'matches':
          return { vars_regexp: { [key]: goRegex(s) } };
      }
      throw new Unsupported(`.${fn?.v ?? ''}() is not supported`);
    }
    throw new Unsupported('expected ==, !=, in or a string method after a placeholder');
  }
}

/** A Caddy placeholder as a Portico template. */
function template(ph: string): string {
  const r = convertPlaceholders(ph);
  if (!r.ok) throw new Unsupported(`Portico has no placeholder ${r.unsupported}`);
  return r.template;
}

/** Go's RE2 spelling of a named group, (?P<name>...), is (?<name>...) in JavaScript. */
export function goRegex(re: string): string {
  return re.replaceAll('(?P<', '(?<');
}
