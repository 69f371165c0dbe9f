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
 *
 * Conditions (a route's `match`, such as remote_ip): several routes may share one location,
 * tried in config order; the first whose condition holds (or that has none) serves. A location
 * none of whose routes accepts the request is treated as absent, and the search above goes on
 * as if it were not configured: a shorter prefix, or the regexes, get their turn (Caddy's
 * matchers fall through the same way). Locations without conditions cost nothing extra.
 */
import type { LocationSpec } from '../config/location-syntax.js';

export interface Located<R> {
  route: R;
  captures: RegExpExecArray | null;
}

/** A route's extra condition on the request (context C). */
export type Condition<C> = (ctx: C) => boolean;

interface Branch<R, C> {
  when: Condition<C> | null;
  route: R;
}

/** The routes of one location, in config order. */
type Slot<R, C> = Branch<R, C>[];

interface Prefix<R, C> {
  path: string;
  noRegex: boolean;
  slot: Slot<R, C>;
}

/** `route` is the location that redirects (its response headers apply to the 301, as in nginx). */
export type LocationResult<R> = Located<R> | { redirectTo: string; route: R } | undefined;

function pick<R, C>(slot: Slot<R, C>, ctx: C | undefined): R | undefined {
  for (const b of slot) if (b.when === null || (ctx !== undefined && b.when(ctx))) return b.route;
  return undefined;
}

/** Adds a branch; an error when it could never be reached. */
function extend<R, C>(slot: Slot<R, C>, branch: Branch<R, C>, what: string): string | undefined {
  if (slot.some((b) => b.when === null))
    return branch.when === null ? `duplicate location "${what}"` : `location "${what}" already has a route without 'match' before this one, so this one is never used`;
  slot.push(branch);
  return undefined;
}

export class LocationTable<R, C = unknown> {
  readonly #exact = new Map<string, Slot<R, C>>();
  /** Longest first, so the first hit is the longest match. */
  readonly #prefixes: Prefix<R, C>[] = [];
  /** The same prefixes by path: adding thousands of locations stays linear. */
  readonly #prefixByPath = new Map<string, Prefix<R, C>>();
  readonly #regexes: { regex: RegExp; slot: Slot<R, C> }[] = [];
  /** "/admin" -> the "/admin/" location, for proxied prefixes that end in a slash. */
  readonly #autoRedirect = new Map<string, { target: string; slot: Slot<R, C> }>();

  /** Adds a location; returns an error message when nginx would reject it (a duplicate). */
  add(spec: LocationSpec, route: R, autoRedirect: boolean, when: Condition<C> | null = null): string | undefined {
    const branch = { when, route };
    switch (spec.kind) {
      case 'exact': {
        const slot = this.#exact.get(spec.path);
        if (slot) return extend(slot, branch, `= ${spec.path}`);
        this.#exact.set(spec.path, [branch]);
        return undefined;
      }
      case 'prefix': {
        const existing = this.#prefixByPath.get(spec.path);
        if (existing) {
          if (existing.noRegex !== spec.noRegex) return `duplicate location "${spec.path}" (once with ^~, once without)`;
          const err = extend(existing.slot, branch, spec.path);
          if (!err && autoRedirect) this.#addRedirect(spec.path, existing.slot);
          return err;
        }
        const slot = [branch];
        const prefix = { path: spec.path, noRegex: spec.noRegex, slot };
        this.#prefixes.splice(this.#insertAt(spec.path.length), 0, prefix);
        this.#prefixByPath.set(spec.path, prefix);
        if (autoRedirect) this.#addRedirect(spec.path, slot);
        return undefined;
      }
      case 'regex':
        // The same regex twice is two entries: when the first's conditions fail, the next
        // regex in order (possibly the same pattern) is tried, as with any other regex.
        this.#regexes.push({ regex: spec.regex, slot: [branch] });
        return undefined;
    }
  }

  /** After every prefix at least as long (binary search): longest first, equal lengths in config order. */
  #insertAt(length: number): number {
    let lo = 0;
    let hi = this.#prefixes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#prefixes[mid]!.path.length >= length) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #addRedirect(path: string, slot: Slot<R, C>): void {
    if (path.length > 1 && path.endsWith('/')) this.#autoRedirect.set(path.slice(0, -1), { target: path, slot });
  }

  /** @param ctx what route conditions are evaluated against (the request). */
  match(path: string, ctx?: C): LocationResult<R> {
    const exact = this.#exact.get(path);
    if (exact !== undefined) {
      const route = pick(exact, ctx);
      if (route !== undefined) return { route, captures: null };
    }
    let prefix: Prefix<R, C> | undefined;
    let prefixRoute: R | undefined;
    for (const p of this.#prefixes) {
      if (path.startsWith(p.path)) {
        prefixRoute = pick(p.slot, ctx);
        if (prefixRoute === undefined) continue;
        prefix = p;
        break;
      }
    }
    if (this.#autoRedirect.size > 0 && prefix?.path !== path) {
      const redirect = this.#autoRedirect.get(path);
      const by = redirect === undefined ? undefined : pick(redirect.slot, ctx);
      if (by !== undefined) return { redirectTo: redirect!.target, route: by };
    }
    if (prefix?.noRegex) return { route: prefixRoute!, captures: null };
    for (const r of this.#regexes) {
      const m = r.regex.exec(path);
      if (m === null) continue;
      const route = pick(r.slot, ctx);
      if (route !== undefined) return { route, captures: m.length > 1 ? m : null };
    }
    return prefix ? { route: prefixRoute!, captures: null } : undefined;
  }
}
