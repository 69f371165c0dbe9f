/**
 * `portico check -c FILE`: like `nginx -t`, loads and compiles without listening, and prints
 * every warning (what an adapter could not carry over) with its file:line. `--strict` makes
 * each warning an error: exit 1 unless everything was carried over.
 */
import type { LoadOptions } from '../config/load.js';
import { loadOrExplain } from './load-or-explain.js';
import { compile } from '../compile/compile.js';
import { silentLog } from '../log/error-log.js';
import { compressionSummary } from '../compile/compress.js';

export async function check(file: string, options: LoadOptions = {}, { strict = false } = {}): Promise<number> {
  const { config, warnings } = await loadOrExplain(file, options);
  const compiled = compile(config, { log: silentLog() }, file);
  compiled.pools.destroy();
  compiled.groups.close();
  if (strict && warnings.length > 0) {
    for (const w of warnings) process.stderr.write(`error (--strict): ${w}\n`);
    process.stderr.write(`${file}: ${warnings.length} warning${warnings.length === 1 ? '' : 's'} under --strict\n`);
    return 1;
  }
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(`${file}: configuration is valid\n`);
  const codings = compressionSummary(config);
  if (codings !== undefined) process.stdout.write(`${file}: ${codings}\n`);
  return 0;
}
