/**
 * What a live reload (SIGHUP) may change. Routes, hosts of plain-HTTP servers, upstream pools,
 * maps, rewrites, limits and access rules are swapped in place; what node's servers, the TLS
 * runtime, the logs or the process layout were built from is not, and a change there is
 * refused with a message naming it (the running config stays). nginx re-opens listeners on a
 * reload; Portico does not yet: that is a restart.
 */
import { isDeepStrictEqual } from 'node:util';
import type { PorticoConfig } from '../config/schema.js';

/** Top-level settings fixed for the life of the process. */
const FIXED: readonly (keyof PorticoConfig)[] = ['workers', 'user', 'client', 'access_log', 'log_level', 'data_dir', 'acme', 'password_checks', 'pid_file', 'error_log', 'request_id'];

/**
 * The first change that needs a restart, as "what changed", or undefined when the config can
 * be swapped. `tls`: either config serves HTTPS (explicitly or by `auto` on port 443).
 */
export function restartOnlyChange(current: PorticoConfig, next: PorticoConfig, tls: boolean): string | undefined {
  for (const key of FIXED) if (!isDeepStrictEqual(current[key], next[key])) return `'${key}'`;
  if (current.servers.length !== next.servers.length) return 'the number of servers';
  for (let i = 0; i < current.servers.length; i++) {
    const a = current.servers[i]!;
    const b = next.servers[i]!;
    if (!isDeepStrictEqual(listOf(a.listen), listOf(b.listen))) return `servers[${i}].listen`;
    // Certificates and their names, redirect listeners and SNI were set up from these.
    if (tls) {
      for (const key of ['tls', 'hosts', 'http_redirect', 'hsts'] as const)
        if (!isDeepStrictEqual(a[key], b[key])) return `servers[${i}].${key} (a config with HTTPS)`;
    }
  }
  return undefined;
}

function listOf<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}
