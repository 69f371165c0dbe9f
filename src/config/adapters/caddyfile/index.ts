/**
 * The Caddyfile adapter: a Caddyfile -> Portico's canonical config, plus a warning for each
 * thing it could not carry over. Errors (what `caddy adapt` would refuse) carry file:line.
 */
import { ConfigError } from '../../../errors.js';
import { Diagnostics, located, where } from '../diagnostics.js';
import { parseCaddyfile } from './parser.js';
import { globalOptions } from './global.js';
import { emitSite } from './sites.js';
import type { AdaptResult } from '../adapter.js';

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
    // Caddy refuses two sites for the same address ("ambiguous site definition").
    for (const k of site.keys) {
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
  return { config, warnings: diag.warningLines() };
}
