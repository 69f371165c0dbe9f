/**
 * A route's `compress` (config/compress-schema.ts) compiled into the filter's policy
 * (filters/compress-head.ts), once: the codings this node has in the configured order, the
 * type list as a set and prefixes, the gzip_proxied flags as bits, gzip_disable's regexes
 * through the ReDoS policy. A route inherits its server's `compress` unless it has its own
 * (compile.ts).
 */
import { codingChooser } from '../http/accept-encoding.js';
import { compressConfigOf, type CompressConfig } from '../config/compress-schema.js';
import { compileSafeRegex } from '../regex/safe-regex.js';
import { AVAILABLE_CODINGS, missingCodingReason } from '../filters/compress-codings.js';
import type { PorticoConfig } from '../config/schema.js';
import { PROXIED, type CompressPolicy } from '../filters/compress-head.js';

/** The policy, or null when the route compresses nothing (off, or none of its codings exist in this node). */
export function compileCompress(value: boolean | CompressConfig | undefined): CompressPolicy | null {
  const cfg = compressConfigOf(value);
  if (cfg === undefined) return null;
  const codings = cfg.codings.filter((c) => AVAILABLE_CODINGS.includes(c));
  if (codings.length === 0) return null;
  let proxied = 0;
  for (const p of cfg.proxied) proxied |= PROXIED[p];
  const regexes = cfg.disable.map((source) => compileSafeRegex(source, true).regex);
  return {
    chooser: codingChooser(codings),
    level: cfg.level,
    type: typeMatcher(cfg.types),
    minLength: cfg.min_length,
    proxied,
    disabledFor:
      regexes.length === 0
        ? null
        : (ua) =>
            regexes.some((r) => {
              r.lastIndex = 0;
              return r.test(ua);
            }),
    http10: cfg.http_version === '1.0',
  };
}

/** "*" (or "*\/*"): everything; "text/*" and "application/vnd.*": a prefix; else the exact media type. */
function typeMatcher(types: readonly string[]): (mediaType: string) => boolean {
  if (types.includes('*') || types.includes('*/*')) return () => true;
  const exact = new Set(types.filter((t) => !t.endsWith('*')));
  const prefixes = types.filter((t) => t.endsWith('*')).map((t) => t.slice(0, -1));
  if (prefixes.length === 0) return (t) => exact.has(t);
  return (t) => exact.has(t) || prefixes.some((p) => t.startsWith(p));
}

/**
 * For `portico check`: which codings this node can compress with, when the config compresses
 * anything (undefined otherwise), and those it asks for that this node lacks.
 */
export function compressionSummary(config: PorticoConfig): string | undefined {
  const asked = new Set<string>();
  for (const server of config.servers) {
    for (const route of server.routes) {
      const cfg = compressConfigOf(route.compress === undefined ? server.compress : route.compress);
      for (const c of cfg?.codings ?? []) asked.add(c);
    }
  }
  if (asked.size === 0) return undefined;
  const missing = [...asked].filter((c) => !AVAILABLE_CODINGS.includes(c as never));
  const note = missing.map((c) => `${c} ${missingCodingReason(c as never)}`).join('; ');
  return `compression codings in this node: ${AVAILABLE_CODINGS.join(', ')}${missing.length > 0 ? ` (not ${note}: skipped)` : ''}`;
}
