/**
 * nginx try_files / Caddy try_files candidates, compiled once. "{path}" and "$uri" stand for
 * the request's path under the served directory; other placeholders ({re.1}, {host}, ...)
 * are the usual ones. A candidate ending in "/" is a directory (it matches when it has an
 * index file, or a listing is on); others match regular files only. A final "=404" is the
 * status when nothing matched.
 */
import type { Exchange } from '../http/exchange.js';
import { compileTemplate } from '../http/template.js';

export type Candidate = (ex: Exchange, path: string) => string;

export interface TryFiles {
  readonly candidates: readonly Candidate[];
  /** Status when no candidate matched (404 unless "=CODE" was given). */
  readonly status: number;
}

export function compileTryFiles(list: readonly string[] | undefined): TryFiles | undefined {
  if (list === undefined) return undefined;
  const last = list[list.length - 1]!;
  const status = last.startsWith('=') ? Number(last.slice(1)) : 404;
  const entries = last.startsWith('=') ? list.slice(0, -1) : list;
  return { candidates: entries.map(compileCandidate), status };
}

function compileCandidate(text: string): Candidate {
  const parts = text.replaceAll('$uri', '{path}').split('{path}').map((p) => compileTemplate(p));
  if (parts.length === 1) {
    const only = parts[0]!;
    return (ex) => leadingSlash(only(ex));
  }
  return (ex, path) => {
    let out = parts[0]!(ex);
    for (let i = 1; i < parts.length; i++) {
      const next = parts[i]!(ex);
      // "{path}/" for a path that already ends in "/" is that path, not "//".
      out += path.endsWith('/') && next.startsWith('/') ? path + next.slice(1) : path + next;
    }
    return leadingSlash(out);
  };
}

function leadingSlash(path: string): string {
  return path.charCodeAt(0) === 47 ? path : '/' + path;
}
