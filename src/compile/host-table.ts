/**
 * Virtual-host selection for one listen address, in nginx's order
 * (https://nginx.org/en/docs/http/server_names.html):
 * exact name, longest leading wildcard ("*.example.com"), longest trailing wildcard
 * ("www.example.*"), first matching regex ("~^api\d+\."), then the default server.
 * ".example.com" means "example.com" and "*.example.com", as in nginx.
 */
import { hostRegex } from '../config/host-name.js';

export class HostTable<S> {
  readonly #exact = new Map<string, S>();
  readonly #leading: { suffix: string; server: S }[] = [];
  readonly #trailing: { prefix: string; server: S }[] = [];
  readonly #regexes: { regex: RegExp; server: S }[] = [];
  #default: S | undefined;

  /** Adds one name; returns an error message for a conflict or a bad name. */
  add(name: string, server: S): string | undefined {
    const lower = name.toLowerCase();
    if (lower.startsWith('~')) {
      try {
        this.#regexes.push({ regex: hostRegex(name), server });
      } catch (err) {
        return `invalid host regex '${name}': ${(err as Error).message}`;
      }
      return undefined;
    }
    if (lower.startsWith('.')) {
      return this.add(lower.slice(1), server) ?? this.add('*' + lower, server);
    }
    if (lower.startsWith('*.')) {
      const suffix = lower.slice(1);
      if (this.#leading.some((l) => l.suffix === suffix)) return `host '${name}' is used by two servers on the same address`;
      this.#leading.push({ suffix, server });
      this.#leading.sort((a, b) => b.suffix.length - a.suffix.length);
      return undefined;
    }
    if (lower.endsWith('.*')) {
      const prefix = lower.slice(0, -1);
      if (this.#trailing.some((t) => t.prefix === prefix)) return `host '${name}' is used by two servers on the same address`;
      this.#trailing.push({ prefix, server });
      this.#trailing.sort((a, b) => b.prefix.length - a.prefix.length);
      return undefined;
    }
    if (lower.includes('*')) return `host '${name}': a wildcard must be the first or last label`;
    if (this.#exact.has(lower)) return `host '${name}' is used by two servers on the same address`;
    this.#exact.set(lower, server);
    return undefined;
  }

  setDefault(server: S): void {
    this.#default = server;
  }

  get defaultServer(): S | undefined {
    return this.#default;
  }

  /** `host` is already lower-cased and without port. */
  match(host: string): S | undefined {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    for (const l of this.#leading) if (host.endsWith(l.suffix)) return l.server;
    for (const t of this.#trailing) if (host.startsWith(t.prefix)) return t.server;
    for (const r of this.#regexes) if (r.regex.test(host)) return r.server;
    return this.#default;
  }
}
