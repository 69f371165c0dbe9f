/**
 * What reading one config may cost, whatever its author wrote: `portico check` and `adapt` run
 * on configs copied from elsewhere, and a config that never ends (`include /dev/zero;`), nests
 * without end, includes itself twice at every level or pastes a snippet into itself must end in
 * an error at its file:line, not in a stack overflow, a hang or an out-of-memory abort.
 *
 * nginx itself reads `/dev/zero` as an empty file (ngx_conf_parse trusts st_size) and has no
 * nesting limit; Caddy has neither a size nor a nesting limit. These bounds are Portico's own,
 * far above any config written by hand or generated for thousands of sites
 * (docs/differences.md):
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** The main file and every file it includes or imports, together. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** Files read through include / import (a glob counts each file it matches). */
export const MAX_INCLUDED_FILES = 10_000;
/** Blocks inside blocks (`http { server { location { location {...` is 4). */
export const MAX_NESTING = 100;
/** Words and braces of one file, and directives of a whole config: bounds memory at the byte limit. */
export const MAX_TOKENS = 4_000_000;
export const MAX_DIRECTIVES = 1_000_000;
/**
 * Directives of a Caddyfile, nested ones and imported ones included. Caddy's routing has each
 * middleware checked against each route (httpcaddyfile sorts and splits them), which grows with
 * the square of their number: 10,000 takes seconds to plan, a million would take hours.
 */
export const MAX_CADDYFILE_DIRECTIVES = 10_000;

const MiB = (n: number) => `${n / (1024 * 1024)} MiB`;

/** What has been read so far for one config. */
export class ReadBudget {
  files = 0;
  directives = 0;
  constructor(public bytes = 0) {}
}

/**
 * A config file's text, or why it cannot be read: not a regular file (a device, a FIFO, a
 * directory), more than the budget left, or an error from the system (its code). The file is
 * opened without blocking (a FIFO with no writer would wait forever) and read until its end,
 * never trusting the size it reports (files in /proc say 0).
 */
export function readConfigText(path: string, budget: ReadBudget): { text: string } | { error: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  try {
    if (!fstatSync(fd).isFile()) return { error: 'not a regular file' };
    const chunks: Buffer[] = [];
    const chunk = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      budget.bytes += n;
      if (budget.bytes > MAX_CONFIG_BYTES) return { error: `the config and what it includes are larger than ${MiB(MAX_CONFIG_BYTES)}` };
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    }
    return { text: Buffer.concat(chunks).toString('utf8') };
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  } finally {
    closeSync(fd);
  }
}

/** The message for a text over the size limit given directly (the main file read by the caller). */
export function tooLarge(text: string): string | undefined {
  // Each UTF-16 unit is at least one byte: no need to count bytes exactly below the limit.
  if (text.length <= MAX_CONFIG_BYTES / 3) return undefined;
  return Buffer.byteLength(text) > MAX_CONFIG_BYTES ? `the config is larger than ${MiB(MAX_CONFIG_BYTES)}` : undefined;
}
