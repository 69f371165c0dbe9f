/**
 * `check` and `adapt` read configs copied from anywhere. Reading is bounded and every problem
 * found is a ConfigError with its file:line; should anything else escape (a bug), the command
 * still ends in exit 1 with one line naming the file, not a stack trace on the terminal.
 */
import { loadConfigFile, type LoadedConfig, type LoadOptions } from '../config/load.js';
import { ConfigError } from '../errors.js';

export async function loadOrExplain(file: string, options: LoadOptions): Promise<LoadedConfig> {
  try {
    return await loadConfigFile(file, options);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`${file}: could not read this config (${(err as Error).name}: ${(err as Error).message}); this is a Portico bug, please report it with the config`]);
  }
}
