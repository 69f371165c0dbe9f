/** `portico check -c FILE`: like `nginx -t`, loads and compiles without listening. */
import type { LoadOptions } from '../config/load.js';
import { loadOrExplain } from './load-or-explain.js';
import { compile } from '../compile/compile.js';
import { silentLog } from '../log/error-log.js';

export async function check(file: string, options: LoadOptions = {}): Promise<number> {
  const { config, warnings } = await loadOrExplain(file, options);
  const compiled = compile(config, { log: silentLog() }, file);
  compiled.pools.destroy();
  compiled.groups.close();
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(`${file}: configuration is valid\n`);
  return 0;
}
