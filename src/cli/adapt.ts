/**
 * `portico adapt -c FILE [--adapter nginx|caddyfile]`: prints the portico.yaml equivalent of an
 * nginx.conf or a Caddyfile. What could not be carried over is printed as a warning on stderr
 * and kept as comments at the top of the YAML, so a redirected file still says it.
 */
import { stringify } from 'yaml';
import type { LoadOptions } from '../config/load.js';
import { loadOrExplain } from './load-or-explain.js';
import { compile } from '../compile/compile.js';
import { silentLog } from '../log/error-log.js';

export async function adaptCommand(file: string, options: LoadOptions): Promise<number> {
  const loaded = await loadOrExplain(file, options);
  // Compile too, so `adapt` fails on whatever `run` would fail on.
  compile(loaded.config, { log: silentLog() }, file).pools.destroy();
  const header = [`# Adapted by \`portico adapt\` from ${file} (${loaded.format}).`];
  for (const w of loaded.warnings) {
    process.stderr.write(`warning: ${w}\n`);
    header.push(`# warning: ${w}`);
  }
  process.stdout.write(`${header.join('\n')}\n${stringify(loaded.input, { lineWidth: 0 })}`);
  return 0;
}
