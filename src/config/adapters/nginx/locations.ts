/**
 * `location` blocks of one server: parsed and checked as ngx_http_core_location does, then
 * flattened onto Portico's one-level location table with the same precedence as nginx's
 * nested lookup (ngx_http_core_find_location):
 *   - a nested prefix or exact location becomes an ordinary route (it is longer than its parent);
 *     one that nginx can never reach (a longer sibling of an ancestor always wins first) is
 *     dropped with a warning;
 *   - a nested regex runs only when nginx would reach it: its regex gets lookahead guards
 *     ("the top-level prefix found is /a/, not /a/b/") and is tried before the outer regexes,
 *     as nginx tries inner regexes first;
 *   - `^~` keeps its meaning per level through the same guards.
 * A server without nested locations maps one to one.
 */
import type { Directive } from './parser.js';
import type { Diagnostics } from '../diagnostics.js';
import { makeScope, type LocationNode, type Scope } from './scope.js';
import { locationWarning, parseLocation } from '../../location-syntax.js';

/** Builds the location tree of a server or location scope (recursively), reporting nginx's errors. */
export function buildLocations(scope: Scope, parent: LocationNode | undefined, diag: Diagnostics): LocationNode[] {
  const out: LocationNode[] = [];
  const seen = new Map<string, Directive>();
  for (const d of scope.directives) {
    if (d.name !== 'location' || !d.block) continue;
    const node = parseNode(d, scope, parent, diag);
    if (!node) continue;
    const key = node.match.kind === 'regex' ? undefined : `${node.match.kind === 'exact' ? '=' : ''}${nameOf(node)}`;
    if (key !== undefined) {
      if (seen.has(key)) {
        diag.error(d, `duplicate location "${nameOf(node)}"`);
        continue;
      }
      seen.set(key, d);
    }
    node.children = buildLocations(node.scope, node, diag);
    out.push(node);
  }
  return out;
}

function nameOf(node: LocationNode): string {
  const m = node.match;
  return m.kind === 'named' ? m.name : m.kind === 'regex' ? m.source : m.path;
}

function parseNode(d: Directive, scope: Scope, parent: LocationNode | undefined, diag: Diagnostics): LocationNode | undefined {
  let modifier = '';
  let name: string;
  if (d.args.length === 2) {
    modifier = d.args[0]!;
    name = d.args[1]!;
    if (!['=', '^~', '~', '~*'].includes(modifier)) {
      diag.error(d, `invalid location modifier "${modifier}"`);
      return undefined;
    }
  } else {
    name = d.args[0]!;
    // nginx also reads the modifier glued to the name: "=/x", "^~/x", "~*\.jpg$".
    const glued = /^(=|\^~|~\*|~)/.exec(name);
    if (glued && !d.quoted[0]) {
      modifier = glued[1]!;
      name = name.slice(modifier.length);
    }
  }
  const child = makeScope('location', scope, d, d.block!);
  const node: LocationNode = { match: { kind: 'named', name }, text: modifier ? `${modifier} ${name}` : name, scope: child, children: [], parent, depth: parent ? parent.depth + 1 : 0 };
  child.location = node;
  if (modifier === '' && name.startsWith('@')) {
    if (parent) {
      diag.error(d, `named location "${name}" can be on the server level only`);
      return undefined;
    }
    return node;
  }
  if (parent) {
    const p = parent.match;
    if (p.kind === 'exact') {
      diag.error(d, `location "${name}" cannot be inside the exact location "${p.path}"`);
      return undefined;
    }
    if (p.kind === 'named') {
      diag.error(d, `location "${name}" cannot be inside the named location "${p.name}"`);
      return undefined;
    }
    const parentName = p.kind === 'regex' ? p.source : p.path;
    if (modifier !== '~' && modifier !== '~*' && !name.startsWith(parentName)) {
      diag.error(d, `location "${name}" is outside location "${parentName}"`);
      return undefined;
    }
  }
  if (modifier === '~' || modifier === '~*') {
    const text = `${name.startsWith('(?i)') ? '~*' : modifier} ${stripInlineFlag(name)}`;
    const spec = parseLocation(text);
    if (typeof spec === 'string') {
      diag.error(d, `regular expression "${name}" cannot be used: ${spec}`);
      return undefined;
    }
    const warning = locationWarning(text);
    if (warning) diag.warn(d, `location "${name}" ${warning}`);
    node.match = spec;
    node.text = text;
    return node;
  }
  if (!name.startsWith('/')) {
    // nginx accepts it, but a request path always starts with "/": it never matches.
    diag.warn(d, `location "${name}" never matches (request paths start with "/"); left out`);
    return undefined;
  }
  node.match = modifier === '=' ? { kind: 'exact', path: name } : { kind: 'prefix', path: name, noRegex: modifier === '^~' };
  return node;
}

function stripInlineFlag(source: string): string {
  return source.startsWith('(?i)') ? source.slice(4) : source;
}

export interface FlatLocation {
  node: LocationNode;
  /** Canonical route `path` (nginx location syntax). */
  path: string;
}

/** The routes of a server, in an order and with paths that keep nginx's precedence. */
export function flatten(top: readonly LocationNode[], diag: Diagnostics): FlatLocation[] {
  const all: LocationNode[] = [];
  const walk = (list: readonly LocationNode[]) => list.forEach((n) => (all.push(n), walk(n.children)));
  walk(top);
  const reachable = all.filter((n) => n.match.kind !== 'named' && !unreachable(n, top, diag));
  if (reachable.every((n) => n.depth === 0)) return reachable.map((node) => ({ node, path: node.text }));

  const regexOrder = orderRegexes(top).filter((n) => reachable.includes(n));
  const out = reachable.map((node) => ({ node, path: flatPath(node, top, diag) }));
  // Only the relative order of regex routes matters to the table: put them in nginx's order,
  // in the slots the regexes take in file order.
  const slots = out.map((f, i) => (f.node.match.kind === 'regex' ? i : -1)).filter((i) => i >= 0);
  const byNode = new Map(out.map((f) => [f.node, f]));
  slots.forEach((slot, k) => (out[slot] = byNode.get(regexOrder[k]!)!));
  return out;
}

/** Siblings of `node` (its level). */
function levelOf(node: LocationNode, top: readonly LocationNode[]): readonly LocationNode[] {
  return node.parent ? node.parent.children : top;
}

function prefixPath(n: LocationNode): string | undefined {
  return n.match.kind === 'prefix' ? n.match.path : undefined;
}

/**
 * A nested prefix/exact location is unreachable when, at some ancestor's level, a longer
 * sibling prefix of that ancestor also covers it: nginx picks the sibling there and never
 * descends into the ancestor for these paths.
 */
function unreachable(node: LocationNode, top: readonly LocationNode[], diag: Diagnostics): boolean {
  const own = node.match.kind === 'exact' || node.match.kind === 'prefix' ? node.match.path : undefined;
  if (own === undefined) return false;
  for (let a = node.parent; a; a = a.parent) {
    const ap = prefixPath(a);
    if (ap === undefined) continue;
    for (const s of levelOf(a, top)) {
      const sp = prefixPath(s);
      if (s !== a && sp !== undefined && sp.length > ap.length && own.startsWith(sp)) {
        diag.warn(node.scope.block!, `location "${node.text}" inside "${a.text}" is never used: nginx picks "${s.text}" for those paths; left out`);
        return true;
      }
    }
  }
  return false;
}

/** nginx's regex order: inner levels before outer ones; a regex location's own nested regexes right before it. */
function orderRegexes(level: readonly LocationNode[]): LocationNode[] {
  const out: LocationNode[] = [];
  for (const n of level) if (n.match.kind !== 'regex') out.push(...orderRegexes(n.children));
  for (const n of level) {
    if (n.match.kind !== 'regex') continue;
    out.push(...orderRegexes(n.children), n);
  }
  return out;
}

/** Would nginx try any regex when `node` is the deepest prefix found? */
function triesRegexes(node: LocationNode, top: readonly LocationNode[]): boolean {
  if (node.children.some((c) => c.match.kind === 'regex')) return true;
  for (let n: LocationNode | undefined = node; n; n = n.parent) {
    if (n.match.kind !== 'prefix') return true; // below a regex location: that level already matched a regex
    const levelHasRegex = levelOf(n, top).some((s) => s.match.kind === 'regex');
    if (!n.match.noRegex && levelHasRegex) return true;
  }
  return false;
}

function flatPath(node: LocationNode, top: readonly LocationNode[], diag: Diagnostics): string {
  const m = node.match;
  if (m.kind === 'exact') return `= ${m.path}`;
  if (m.kind === 'prefix') return triesRegexes(node, top) ? m.path : `^~ ${m.path}`;
  if (m.kind !== 'regex') return node.text;
  const guard = guardOf(node, top, diag);
  if (guard === '') return node.text;
  const ci = m.caseInsensitive;
  const path = `${ci ? '~*' : '~'} ^${guard}[\\s\\S]*?(?:${m.source})`;
  // The guards are lookaheads, which the linear-time regex engine cannot run (src/regex/safe-regex.ts).
  const problem = parseLocation(path);
  if (typeof problem === 'string') diag.error(node.scope.block!, `nested location "${node.text}" needs lookahead guards to keep nginx's order, and then ${problem}`);
  return path;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** "`p` is the prefix nginx finds on this level": starts with p, and not with a longer sibling extending p. */
function foundAt(p: LocationNode, top: readonly LocationNode[]): string {
  const path = prefixPath(p)!;
  const longer = levelOf(p, top)
    .map(prefixPath)
    .filter((s): s is string => s !== undefined && s.length > path.length && s.startsWith(path));
  return esc(path) + longer.map((s) => `(?!${esc(s.slice(path.length))})`).join('');
}

/**
 * Lookaheads that hold exactly when nginx would try this regex location: every enclosing
 * prefix is the one found on its level (and every enclosing regex matches), and its own level
 * did not find a `^~` prefix. Outer levels' `^~` do not matter: nginx tries inner regexes
 * before it looks at them. On the top level the table's own `^~` already stops regexes,
 * unless that `^~` location has nested ones (then a longer nested prefix is what the table finds).
 */
function guardOf(node: LocationNode, top: readonly LocationNode[], diag: Diagnostics): string {
  let guard = '';
  for (const s of levelOf(node, top)) {
    if (s.match.kind === 'prefix' && s.match.noRegex && (node.depth > 0 || s.children.length > 0)) guard += `(?!${foundAt(s, top)})`;
  }
  for (let a = node.parent; a; a = a.parent) {
    if (a.match.kind === 'prefix') guard += `(?=${foundAt(a, top)})`;
    else if (a.match.kind === 'regex') {
      const inner = nonCapturing(a.match.source);
      if (inner === undefined) diag.warn(node.scope.block!, `nested location "${node.text}": the enclosing regex "${a.text}" uses back-references; Portico ignores the enclosing regex`);
      else guard += `(?=[\\s\\S]*?(?:${inner}))`;
      if (a.match.caseInsensitive !== (node.match as { caseInsensitive: boolean }).caseInsensitive)
        diag.warn(node.scope.block!, `nested location "${node.text}" and its parent "${a.text}" differ in case sensitivity; Portico applies the inner one's to both`);
    }
  }
  return guard;
}

/** The regex with its groups made non-capturing (so a guard does not renumber {re.N}); undefined with back-references. */
export function nonCapturing(source: string): string | undefined {
  if (/\\[1-9]|\\k</.test(source)) return undefined;
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      out += c + (source[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') inClass = true;
    if (c === '(') {
      const rest = source.slice(i + 1);
      const named = /^\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
      if (named) {
        out += '(?:';
        i += named[0].length;
        continue;
      }
      if (!rest.startsWith('?')) {
        out += '(?:';
        continue;
      }
    }
    out += c;
  }
  return out;
}
