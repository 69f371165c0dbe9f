/**
 * Errors and warnings of an adapter, each tied to a place in the source ("nginx.conf:12:5").
 * Errors stop the load (like `nginx -t` / `caddy adapt`); warnings say what could not be
 * carried over and the rest still runs.
 */
import { ConfigError } from '../../errors.js';

export interface SourcePos {
  file: string;
  line: number;
  col?: number;
}

export interface SourceError extends SourcePos {
  message: string;
}

export function where(pos: SourcePos): string {
  return pos.col === undefined ? `${pos.file}:${pos.line}` : `${pos.file}:${pos.line}:${pos.col}`;
}

export class Diagnostics {
  readonly errors: SourceError[] = [];
  readonly warnings: SourceError[] = [];
  readonly #seen = new Set<string>();

  /** The same error at the same place is reported once too (a server-level directive is seen by every route). */
  error(pos: SourcePos, message: string): void {
    const key = `error ${where(pos)} ${message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.errors.push({ ...pos, message });
  }

  /** The same warning at the same place is reported once (a server-level directive is seen by every route). */
  warn(pos: SourcePos, message: string): void {
    const key = `${where(pos)} ${message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.warnings.push({ ...pos, message });
  }

  /** Throws a ConfigError with the errors so far, in file order (the first MAX_REPORTED of them). */
  throwIfErrors(): void {
    if (this.errors.length === 0) return;
    throw new ConfigError(capped(sortByPlace(this.errors).map((e) => `${where(e)}: ${e.message}`), 'errors'));
  }

  warningLines(): string[] {
    return capped(sortByPlace(this.warnings).map((w) => `${where(w)}: ${w.message}`), 'warnings');
  }
}

/** Problems listed at most: a generated config with a million bad lines should not print a million lines. */
const MAX_REPORTED = 100;

function capped(lines: string[], what: string): string[] {
  if (lines.length <= MAX_REPORTED) return lines;
  return [...lines.slice(0, MAX_REPORTED), `... and ${lines.length - MAX_REPORTED} more ${what}`];
}

function sortByPlace<T extends SourcePos>(list: readonly T[]): T[] {
  // Stable: same-file entries by line and column, files in first-seen order.
  const fileOrder = new Map<string, number>();
  for (const e of list) if (!fileOrder.has(e.file)) fileOrder.set(e.file, fileOrder.size);
  return [...list].sort(
    (a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || (a.col ?? 0) - (b.col ?? 0),
  );
}

/**
 * Where an object an adapter emits came from (a route from its location, a server from its
 * server block). When the emitted config fails validation (a value the adapter passed through
 * as written), the problem is reported at the deepest such object on its key path, so it
 * still names file:line. Weak: nothing is kept once the config is gone.
 */
const SOURCES = new WeakMap<object, SourcePos>();

export function located<T extends object>(obj: T, pos: SourcePos): T {
  SOURCES.set(obj, { file: pos.file, line: pos.line, ...(pos.col !== undefined ? { col: pos.col } : {}) });
  return obj;
}

/** The source of the deepest located object along `path` in `root`. */
export function sourceAlong(root: unknown, path: readonly PropertyKey[]): SourcePos | undefined {
  let node: unknown = root;
  let found = typeof node === 'object' && node !== null ? SOURCES.get(node) : undefined;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) break;
    node = (node as Record<PropertyKey, unknown>)[key];
    if (typeof node === 'object' && node !== null) found = SOURCES.get(node) ?? found;
  }
  return found;
}
