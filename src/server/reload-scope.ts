/**
 * What a live reload (SIGHUP, `portico reload`) may not change. Everything else applies:
 * routes, pools, listen addresses (listener-set.ts), HTTPS names and certificates, `client`
 * limits, logs, `password_checks`, `temp_files`, `shutdown_timeout`; `workers` and `pid_file`
 * are the process layout's (cli/run.ts). Refused, with the reason, and the running config
 * stays:
 *  - `user`: the process dropped root for it at start and cannot take root back to become
 *    another user (nginx keeps its master as root; Portico keeps no root process to ask);
 *  - `data_dir`: the local CA, the ACME account and certificates and the cache live there,
 *    created before the drop; browsers trust the CA in it. An upgrade in place
 *    (`portico upgrade`) starts from the file again and takes both.
 */
import { isDeepStrictEqual } from 'node:util';
import type { PorticoConfig } from '../config/schema.js';

const FIXED: readonly { key: keyof PorticoConfig; why: string }[] = [
  { key: 'user', why: 'the process dropped root for it at start and cannot become another user' },
  { key: 'data_dir', why: 'the local CA, ACME account and cache live there, made ready at start' },
];

/**
 * Why `next` cannot be served by the running process ("'user' changed, which ...: use
 * `portico upgrade` or a restart"), or undefined when it can.
 */
export function restartOnlyChange(current: PorticoConfig, next: PorticoConfig): string | undefined {
  for (const { key, why } of FIXED)
    if (!isDeepStrictEqual(current[key], next[key])) return `'${key}' changed, which a running process cannot take (${why}): \`portico upgrade\` or a restart applies it`;
  return undefined;
}
