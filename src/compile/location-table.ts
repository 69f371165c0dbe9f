/**
 * nginx's location selection, compiled once per server
 * (ngx_http_core_find_location; https://nginx.org/en/docs/http/ngx_http_core_module.html#location):
 *  1. an `=` exact location equal to the path wins at once;
 *  2. otherwise the longest matching prefix is remembered;
 *  3. if that prefix is `^~`, it wins and regexes are not tried;
 *  4. regex locations are tried in config order, and the first match wins;
 *  5. otherwise the remembered prefix wins.
 * Also nginx's auto-redirect: a proxied prefix ending in "/" ("/admin/") answers a request for
 * exactly "/admin" with a 301 to "/admin/" (nginx does this for proxy_pass locations).
 */
import type { LocationSpec } from '../config/location-syntax.js';

export interface Located<R> {
  route: R;
  captures: RegExpExecArray | null;
}

interface Prefix<R> {
  path: string;
  noRegex: boolean;
  route: R;
}

export type LocationResult<R> = Located<R> | { redirectTo: string } | undefined;

export class LocationTable<R> {
  readonly #exact = new Map<string, R>();
  /** Longest first, so the first hit is the longest match. */
  readonly #prefixes: Prefix<R>[] = [];
  readonly #regexes: { regex: RegExp; route: R }[] = [];
  /** "/admin" -> "/admin/" for proxied prefixes that end in a slash. */
  readonly #autoRedirect = new Map<string, string>();

  /** Adds a location; returns an error message when nginx would reject it (a duplicate). */
  add(spec: LocationSpec, route: R, autoRedirect: boolean): string | undefined {
    switch (spec.kind) {
      case 'exact':
        if (this.#exact.has(spec.path)) return `duplicate location "= ${spec.path}"`;
        this.#exact.set(spec.path, route);
        return undefined;
      case 'prefix': {
        if (this.#prefixes.some((p) => p.path === spec.path)) return `duplicate location "${spec.path}"`;
        this.#prefixes.push({ path: spec.path, noRegex: spec.noRegex, route });
        this.#prefixes.sort((a, b) => b.path.length - a.path.length);
        if (autoRedirect && spec.path.length > 1 && spec.path.endsWith('/')) {
          this.#autoRedirect.set(spec.path.slice(0, -1), spec.path);
        }
        return undefined;
      }
      case 'regex':
        this.#regexes.push({ regex: spec.regex, route });
        return undefined;
    }
  }

  match(path: string): LocationResult<R> {
    const exact = this.#exact.get(path);
    if (exact !== undefined) return { route: exact, captures: null };
    let prefix: Prefix<R> | undefined;
    for (const p of this.#prefixes) {
      if (path.startsWith(p.path)) {
        prefix = p;
        break;
      }
    }
    if (this.#autoRedirect.size > 0 && prefix?.path !== path) {
      const target = this.#autoRedirect.get(path);
      if (target !== undefined) return { redirectTo: target };
    }
    if (prefix?.noRegex) return { route: prefix.route, captures: null };
    for (const r of this.#regexes) {
      const m = r.regex.exec(path);
      if (m !== null) return { route: r.route, captures: m.length > 1 ? m : null };
    }
    return prefix ? { route: prefix.route, captures: null } : undefined;
  }
}
