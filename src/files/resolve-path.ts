/**
 * Request path -> a file under the served directory, refusing anything that could leave it.
 *
 * The dispatcher already routes on nginx's `$uri` (decoded once, dot segments resolved, NUL
 * and bad UTF-8 answered 400), but this module trusts none of that (defence in depth): every
 * path it joins is checked segment by segment, and the joined result is checked lexically
 * against the directory. Symlinks are the file cache's business (realpath against the root).
 * Nothing here decodes again: "%2e%2e" reaching this point is a file literally named so.
 */
import { resolve, sep } from 'node:path';
import type { LocationSpec } from '../config/location-syntax.js';
import type { FilesConfig } from '../config/schema.js';
import type { Exchange } from '../http/exchange.js';
import { compileTemplate, type Template } from '../http/template.js';

/** How a route's requests map onto the disk: `dir` plus a relative path ("" or "/..."). */
export interface PathMap {
  /** Absolute, without a trailing separator (except "/"). */
  readonly dir: string;
  /** The path under `dir` ("/css/app.css", "" for `dir` itself), or undefined: not ours (404). */
  rel(ex: Exchange): string | undefined;
}

export function compilePathMap(cfg: FilesConfig, spec: LocationSpec, baseDir: string): PathMap {
  if (cfg.root !== undefined) {
    // nginx root: the whole request path is appended.
    return { dir: resolve(baseDir, cfg.root), rel: (ex) => ex.path };
  }
  const alias = cfg.alias!;
  if (spec.kind === 'regex') return regexAlias(alias, baseDir);
  // nginx alias: the matched prefix is replaced. "/static" must not map "/staticx" onto
  // "<alias>x" (nginx's famous alias traversal); only whole segments follow the prefix.
  const prefix = spec.path;
  const slash = prefix.endsWith('/');
  return {
    dir: resolve(baseDir, alias),
    rel(ex) {
      const rest = ex.path.slice(prefix.length);
      if (rest === '' || rest.charCodeAt(0) === 47 /* / */) return rest;
      return slash ? '/' + rest : undefined;
    },
  };
}

/**
 * "/data/img/{re.1}": the constant directory before the first placeholder is the served
 * directory; the rest, filled from the captures, is checked like a request path.
 */
function regexAlias(alias: string, baseDir: string): PathMap {
  const brace = alias.indexOf('{');
  if (brace < 0) return { dir: resolve(baseDir, alias), rel: () => '' };
  const cut = alias.lastIndexOf('/', brace);
  const dir = resolve(baseDir, cut < 0 ? '.' : alias.slice(0, cut + 1));
  const tail: Template = compileTemplate('/' + alias.slice(cut + 1));
  // "/{re.1}" with a capture "/a.png" is "/a.png", as the file system would read "//".
  return { dir, rel: (ex) => tail(ex).replace(/\/{2,}/g, '/') };
}

/** 0: safe to join; 400: a path no file server should accept; 404: hidden. */
export type PathVerdict = 0 | 400 | 404;

/**
 * Checks a decoded relative path ("" or "/a/b", a trailing "/" allowed). Refused with 400:
 * control characters (NUL included), backslashes (Windows separators), empty, "." and ".."
 * segments. Refused with 404 unless `hidden`: a segment starting with "." (".git", ".env"),
 * except ".well-known" (RFC 8615: meant to be served, e.g. ACME challenges).
 */
export function checkRelative(rel: string, hidden: boolean): PathVerdict {
  if (rel === '') return 0;
  if (rel.charCodeAt(0) !== 47) return 400;
  let verdict: PathVerdict = 0;
  let start = 1;
  for (let i = 1; i <= rel.length; i++) {
    const c = i < rel.length ? rel.charCodeAt(i) : 47;
    if (c < 0x20 || c === 0x7f || c === 0x5c /* \ */) return 400;
    if (c !== 47) continue;
    const len = i - start;
    if (len === 0) {
      if (i !== rel.length) return 400; // "//" (the trailing "/" is fine)
    } else if (rel.charCodeAt(start) === 46 /* . */) {
      if (len === 1 || (len === 2 && rel.charCodeAt(start + 1) === 46)) return 400;
      if (!hidden && !(len === 11 && rel.startsWith('.well-known', start))) verdict = 404;
    }
    start = i + 1;
  }
  return verdict;
}

/** The absolute file for a checked relative path, or undefined when it is not inside `dir`. */
export function joinInside(dir: string, rel: string): string | undefined {
  const file = rel === '' ? dir : dir === sep ? rel : dir + rel;
  // Lexical containment, whatever the checks above let through.
  const resolved = resolve(file);
  const trailing = rel.length > 1 && rel.endsWith('/') ? sep : '';
  if (resolved + trailing !== file && !(resolved === dir && rel === '/')) return undefined;
  if (resolved !== dir && !resolved.startsWith(dir === sep ? sep : dir + sep)) return undefined;
  return file;
}
