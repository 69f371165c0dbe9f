/**
 * The Caddyfile adapter: a Caddyfile -> Portico's canonical config, plus a warning for each
 * thing it could not carry over. Errors (what `caddy adapt` would refuse) carry file:line.
 */
import { ConfigError } from '../../../errors.js';
import { Diagnostics, located, where } from '../diagnostics.js';
import { parseCaddyfile } from './parser.js';
import { globalOptions } from './global.js';
import { emitSite } from './sites.js';
import { CADDY_DIRECTIVES } from './registry.js';
import type { AdaptResult } from '../adapter.js';
import { validateConfig } from '../../load.js';

export function adaptCaddyfile(text: string, file: string, env: NodeJS.ProcessEnv = process.env): AdaptResult {
  const parsed = parseCaddyfile(text, file, env);
  if ('message' in parsed) throw new ConfigError([`${where(parsed)}: ${parsed.message}`]);
  const diag = new Diagnostics();
  const ctx = { diag };
  const g = globalOptions(parsed.global, ctx);
  const servers: Record<string, unknown>[] = [];
  let accessLog: { format: 'json'; output: string } | false | undefined;
  const taken = new Map<string, number>();
  for (const site of parsed.sites) {
    // Caddy refuses two sites for the same address ("ambiguous site definition"), and a
    // directive's name where an address should be (a directive outside any site).
    for (const k of site.keys) {
      if (CADDY_DIRECTIVES[k.text] && !k.quoted) diag.error(site, `parsed '${k.text}' as a site address, but it is a known directive; directives must appear in a site block`);
      const key = k.text.toLowerCase().replace(/\/$/, '');
      const first = taken.get(key);
      if (first !== undefined) diag.error(site, `ambiguous site definition: ${k.text} (also at line ${first})`);
      else taken.set(key, site.line);
    }
    const out = emitSite(site, g, ctx);
    if (!out) continue;
    servers.push(...out.servers);
    if (out.accessLog !== undefined && accessLog === undefined) accessLog = out.accessLog;
  }
  if (servers.length === 0 && diag.errors.length === 0) diag.error({ file, line: 1 }, 'no site blocks: nothing to serve');
  diag.throwIfErrors();
  // Problems the validator finds outside the sites: at the global options block (or the file's start).
  const config: Record<string, unknown> = located({}, parsed.global?.[0] ?? { file, line: 1 });
  if (g.logLevel) config.log_level = g.logLevel;
  if (g.shutdownTimeout) config.shutdown_timeout = g.shutdownTimeout;
  Object.assign(config, g.top);
  // Caddy writes no access log unless a site has `log`, and sets no request body limit.
  config.access_log = accessLog ?? false;
  config.client = located({ max_body_size: 0, ...g.client }, parsed.global?.[0] ?? { file, line: 1 });
  config.servers = servers;
  checkAdapted(config, file);
  return { config, warnings: diag.warningLines() };
}

/** After the file name: ":line[:col]: key.path[0]: message". */
const KEYED = /^((?::\d+){0,2}): ([\w$-]+(?:\.[^.:[\]]+|\[\d+\])*): ([\s\S]*)$/;

/**
 * What Portico's schema refuses in the adapted config (a value passed through as written),
 * said at the Caddyfile line it came from, with the message and the Portico setting's name but
 * no key path into a config the user never wrote ("servers[0].listen[0]").
 */
function checkAdapted(config: Record<string, unknown>, file: string): void {
  try {
    validateConfig(config, file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // The key path starts with one of the config's own top-level keys ("servers[0].listen[0]").
    const top = new Set(Object.keys(config));
    throw new ConfigError(
      err.problems.map((p) => {
        const m = p.startsWith(file) ? KEYED.exec(p.slice(file.length)) : null;
        if (!m || !top.has(m[2]!.split(/[.[]/)[0]!)) return p;
        const setting = m[2]!.replace(/\[\d+\]/g, '').split('.').pop();
        return `${file}${m[1]}: ${m[3]} (Portico's ${setting})`;
      }),
    );
  }
}
