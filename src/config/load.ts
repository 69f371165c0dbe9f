/**
 * Turns a config file into a validated PorticoConfig, or a ConfigError whose every problem
 * names file, line, column and key path ("portico.yaml:12:9: servers[0].routes[2].proxy.to:
 * expected host:port, got 'localhost:'").
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { configSchema, type PorticoConfig } from './schema.js';
import { ConfigError } from '../errors.js';
import type { AdapterName } from './adapters/adapter.js';

export interface LoadedConfig {
  config: PorticoConfig;
  file: string;
  /** What the adapter could not carry over ("nginx.conf:12:5: ..."); for YAML, regexes that could backtrack. */
  warnings: string[];
  /** The format the file was read as. */
  format: AdapterName;
  /** The canonical config before validation (what `portico adapt` prints). */
  input: unknown;
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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read config: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  const { detectFormat, adapt } = await import('./adapters/adapter.js');
  const format = options.adapter ?? detectFormat(file, text);
  if (format === 'yaml') {
    const input = parseYamlInput(text, file);
    const config = parseConfigText(text, file);
    const { regexWarnings } = await import('./regex-warnings.js');
    return { config, file, warnings: regexWarnings(config, text, file), format, input };
  }
  const adapted = await adapt(format, text, file, { nginxPrefix: options.nginxPrefix });
  return { config: validateConfig(adapted.config, file), file, warnings: adapted.warnings, format, input: adapted.config };
}

function parseYamlInput(text: string, file: string): unknown {
  try {
    return parseDocument(text).toJS();
  } catch {
    return parseConfigText(text, file);
  }
}

/** Parses YAML (JSON is a subset) and validates it. */
export function parseConfigText(text: string, file: string): PorticoConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return `${file}:${pos.line}:${pos.col}: ${firstLine(e.message)}`;
      }),
    );
  }
  return validateDocument(doc.toJS(), doc, lines, file);
}

/** Validates a plain object (from any adapter); positions come from `doc` when given. */
export function validateConfig(value: unknown, file: string): PorticoConfig {
  return validateDocument(value, undefined, undefined, file);
}

function validateDocument(value: unknown, doc: Document | undefined, lines: LineCounter | undefined, file: string): PorticoConfig {
  if (value === null || value === undefined) throw new ConfigError([`${file}: the config is empty; expected a 'servers' list`]);
  const result = configSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  // Reported in file order, as an editor would list them.
  const located = result.error.issues.map((issue) => {
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    const where = doc && lines ? position(doc, lines, path, issue.code === 'unrecognized_keys') : undefined;
    const prefix = where ? `${file}:${where.line}:${where.col}` : file;
    const keyPath = formatPath(path);
    return { line: where?.line ?? 0, col: where?.col ?? 0, text: `${prefix}: ${keyPath ? keyPath + ': ' : ''}${describe(issue)}` };
  });
  located.sort((a, b) => a.line - b.line || a.col - b.col);
  const problems = located.map((p) => p.text);
  throw new ConfigError(problems);
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
