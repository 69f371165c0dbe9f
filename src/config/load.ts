/**
 * Turns a config file into a validated PorticoConfig, or a ConfigError whose every problem
 * names file, line, column and key path ("portico.yaml:12:9: servers[0].routes[2].proxy.to:
 * expected host:port, got 'localhost:'").
 */
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { configSchema, type PorticoConfig } from './schema.js';
import { ConfigError } from '../errors.js';
import type { AdapterName } from './adapters/adapter.js';
import { MAX_NESTING, ReadBudget, readConfigText, tooLarge } from './adapters/read-limits.js';
import { sourceAlong, where as whereIs } from './adapters/diagnostics.js';
import { closest, keysAt } from './did-you-mean.js';

export interface LoadedConfig {
  config: PorticoConfig;
  file: string;
  /** What the adapter could not carry over ("nginx.conf:12:5: ..."); for YAML, regexes that could backtrack. */
  warnings: string[];
  /** The format the file was read as. */
  format: AdapterName;
  /** The canonical config before validation (what `portico adapt` prints). */
  input: unknown;
  /**
   * Where a key of the config is written, "file:line:col" ("servers[0].listen[1]"; the closest
   * enclosing key that is written, the file alone when none is), for errors found later, when
   * the config is served (an address in use, a certificate file missing).
   */
  locate(where: string): string;
}

export interface LoadOptions {
  /** Force a format instead of guessing it from the file name and content. */
  adapter?: AdapterName;
  /** nginx's prefix for its default root (PREFIX/html); Debian's /usr/share/nginx by default. */
  nginxPrefix?: string;
}

/**
 * Reads a config in any format Portico knows: YAML/JSON, nginx.conf or a Caddyfile (by
 * `options.adapter`, else by file name, else by content), and validates it.
 */
export async function loadConfigFile(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  // Bounded as every file an adapter reads is (a device, a FIFO or a huge file is refused).
  const read = readConfigText(file, new ReadBudget());
  if ('error' in read) throw new ConfigError([`${file}: cannot read config: ${read.error}`]);
  const text = read.text;
  const { detectFormat, adapt } = await import('./adapters/adapter.js');
  const format = options.adapter ?? detectFormat(file, text);
  if (format === 'yaml') {
    const { doc, lines } = readYaml(text, file);
    const config = validateDocument(toJS(doc, lines, file), doc, lines, file);
    const { regexWarnings } = await import('./regex-warnings.js');
    const locate = (where: string) => {
      const pos = position(doc, lines, parsePath(where), false);
      return pos ? `${file}:${pos.line}:${pos.col}` : file;
    };
    return { config, file, warnings: regexWarnings(config, text, file), format, input: toJS(doc, lines, file), locate };
  }
  const adapted = await adapt(format, text, file, { nginxPrefix: options.nginxPrefix });
  // An adapted config: the nginx.conf / Caddyfile line of the block the key was emitted from.
  const locate = (where: string) => {
    const source = sourceAlong(adapted.config, parsePath(where));
    return source ? whereIs(source) : file;
  };
  return { config: validateConfig(adapted.config, file), file, warnings: adapted.warnings, format, input: adapted.config, locate };
}

/** Parses YAML (JSON is a subset) and validates it. */
export function parseConfigText(text: string, file: string): PorticoConfig {
  const { doc, lines } = readYaml(text, file);
  return validateDocument(toJS(doc, lines, file), doc, lines, file);
}

/** Aliases one document may expand (yaml's own default, said here: a "billion laughs" stops at it). */
const MAX_YAML_ALIASES = 100;

/**
 * The parsed document, or a ConfigError with the place of each problem. Bounded whatever the
 * text: its size (read-limits.ts), nesting (MAX_NESTING brackets deep, refused before the
 * parser recurses that deep), and duplicate keys found in one pass (yaml's own uniqueKeys
 * compares every key of a map with every other: minutes for a map of 100,000 keys).
 */
function readYaml(text: string, file: string): { doc: Document; lines: LineCounter } {
  const large = tooLarge(text);
  if (large) throw new ConfigError([`${file}: ${large}`]);
  const lines = new LineCounter();
  const deep = flowDepthOver(text, MAX_NESTING);
  if (deep !== undefined) {
    lines.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0 && i < deep; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
    const pos = lines.linePos(deep);
    throw new ConfigError([`${file}:${pos.line}:${pos.col}: nested more than ${MAX_NESTING} deep`]);
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const errors = doc.errors.map((e) => ({ pos: e.pos[0], message: firstLine(e.message) }));
  // Too deep for the parser by indentation alone: one message, not one per level.
  const overflow = errors.findIndex((e) => /call stack/i.test(e.message));
  if (overflow >= 0) errors.splice(0, errors.length, { pos: errors[overflow]!.pos, message: `nested more than the parser can follow` });
  if (errors.length === 0) errors.push(...duplicateKeys(doc));
  if (errors.length > 0) {
    throw new ConfigError(
      errors.map((e) => {
        const pos = lines.linePos(e.pos);
        return `${file}:${pos.line}:${pos.col}: ${e.message}`;
      }),
    );
  }
  return { doc, lines };
}

function toJS(doc: Document, lines: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    // yaml refuses an alias expanded too often (ReferenceError), with no place: name the first alias.
    let at = 0;
    visit(doc, {
      Alias(_, node) {
        at = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    const pos = lines.linePos(at);
    throw new ConfigError([`${file}:${pos.line}:${pos.col}: ${firstLine((err as Error).message)} (aliases expand to more than ${MAX_YAML_ALIASES} nodes)`]);
  }
}

/** "Map keys must be unique" (yaml's message) at each repeated scalar key, in one pass per map. */
function duplicateKeys(doc: Document): { pos: number; message: string }[] {
  const out: { pos: number; message: string }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const v = pair.key.value;
        const key = typeof v === 'string' ? `s${v}` : v;
        if (seen.has(key)) out.push({ pos: pair.key.range?.[0] ?? 0, message: 'Map keys must be unique' });
        seen.add(key);
      }
    },
  });
  return out;
}

/**
 * The offset where `[`/`{` flow collections first nest deeper than `max`, or undefined. Quoted
 * scalars and comments are skipped roughly (a `#` after a space starts a comment): this only
 * decides whether the parser may recurse, the parser still reads the text.
 */
function flowDepthOver(text: string, max: number): number | undefined {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== '') {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote || c === '\n') quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return undefined;
      i = nl;
    } else if (c === '[' || c === '{') {
      if (++depth > max) return i;
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/** Validates a plain object (from any adapter); positions come from `doc` when given. */
export function validateConfig(value: unknown, file: string): PorticoConfig {
  return validateDocument(value, undefined, undefined, file);
}

function validateDocument(value: unknown, doc: Document | undefined, lines: LineCounter | undefined, file: string): PorticoConfig {
  if (value === null || value === undefined) throw new ConfigError([`${file}:1: the config is empty; expected a 'servers' list`]);
  const result = configSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  // Reported in file order, as an editor would list them.
  const located = result.error.issues.flatMap(unionBranch).map((issue) => {
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    const where = doc && lines ? position(doc, lines, path, issue.code === 'unrecognized_keys') : undefined;
    // An adapted config: the nginx.conf / Caddyfile line its object came from.
    const source = where ? undefined : sourceAlong(value, path);
    const prefix = where ? `${file}:${where.line}:${where.col}` : source ? whereIs(source) : file;
    const keyPath = formatPath(path);
    const text = `${prefix}: ${keyPath ? keyPath + ': ' : ''}${describe(issue)}${issue.code === 'unrecognized_keys' ? suggestion(issue.path, issue.keys[0]!) : ''}`;
    return { line: where?.line ?? source?.line ?? 0, col: where?.col ?? source?.col ?? 0, text };
  });
  located.sort((a, b) => a.line - b.line || a.col - b.col);
  const problems = located.map((p) => p.text);
  throw new ConfigError(problems);
}

/** "; did you mean 'routes'?" for a key one typo away from a key valid at `path`. */
function suggestion(path: readonly PropertyKey[], key: string): string {
  const near = closest(key, keysAt(configSchema, path));
  return near === undefined ? '' : `; did you mean '${near}'?`;
}

/**
 * A value that matches no alternative of a union (`true` or a mapping): the issues of the
 * alternative it was written for, the first whose complaint is not the value's type itself,
 * at their own key paths (`compress.level.gzip`, not `compress`).
 */
function unionBranch(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  for (const branch of issue.errors) {
    if (branch.length === 0 || (branch.length === 1 && branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0)) continue;
    return branch.flatMap((inner) => unionBranch({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue));
  }
  return [issue];
}

function firstLine(message: string): string {
  return message.split('\n')[0]!;
}

/** servers[0].routes[2].proxy.to */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += (out ? '.' : '') + String(seg);
  }
  return out;
}

/** formatPath's inverse: "servers[0].tls[1].cert" -> ['servers', 0, 'tls', 1, 'cert']. */
export function parsePath(where: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of where.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `required ${issue.expected} is missing`;
      return `expected ${issue.expected}, got ${show(issue.input)}`;
    case 'unrecognized_keys':
      return `unknown key '${issue.keys[0]}'`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${show(issue.input)}`;
    case 'invalid_union': {
      // Report the closest alternative rather than zod's generic "invalid input".
      const inner = issue.errors.flat()[0];
      return inner ? describe(inner as z.core.$ZodIssue) : `unexpected value ${show(issue.input)}`;
    }
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${issue.minimum} item(s)`;
      return issue.message;
    default:
      return issue.message;
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/**
 * Line and column of the deepest node along `path` that exists in the document: the value
 * when there is one, the key itself for an unknown key.
 */
function position(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  atKey: boolean,
): { line: number; col: number } | undefined {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
      if (!pair) break;
      const key = pair.key as Node;
      const value = pair.value as Node | null;
      const last = i === path.length - 1;
      offset = (last && atKey) || !value?.range ? (key.range?.[0] ?? offset) : value.range[0];
      node = value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset === undefined ? undefined : lines.linePos(offset);
}
