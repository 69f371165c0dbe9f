/**
 * undici, loaded on first use: only a Portico that falls back to it pays for loading it (about
 * 0.1 s of start-up on the machine measured).
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

let lib: typeof Undici | undefined;

export function undici(): typeof Undici {
  return (lib ??= createRequire(import.meta.url)('undici') as typeof Undici);
}
