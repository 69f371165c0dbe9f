/**
 * `portico reload [-c FILE]` and `portico upgrade [-c FILE]`: as `nginx -s reload` does, the
 * config is read (and checked: a config the server would refuse is reported here, and no
 * signal is sent), its pid file found (`pid_file`, or the default one for this config file,
 * pid-file.ts), and the running server signalled: SIGHUP reloads, SIGUSR2 upgrades in place
 * (malloc-relaunch.ts, server/handover.ts). The outcome is in the server's log.
 */
import { readFileSync } from 'node:fs';
import { loadConfigFile, type LoadOptions } from '../config/load.js';
import { pidFilePath, readPidFile } from './pid-file.js';

const SIGNALS = { reload: 'SIGHUP', upgrade: 'SIGUSR2' } as const;

export async function signalServer(file: string, load: LoadOptions, what: keyof typeof SIGNALS): Promise<number> {
  const { config } = await loadConfigFile(file, load);
  const { path } = pidFilePath(file, config);
  const pid = readPidFile(path);
  const fail = (why: string) => {
    process.stderr.write(`portico: ${what}: ${why}\n`);
    return 1;
  };
  if (typeof pid === 'string') return fail(pid);
  if (!alive(pid)) return fail(`no process ${pid} (from ${path}): Portico is not running; the pid file is left from an earlier run`);
  const command = commandLine(pid);
  // A pid file left behind may name a pid some other program has now.
  if (command !== undefined && !/portico|main\.js/.test(command)) return fail(`process ${pid} (from ${path}) is not Portico: ${command}`);
  const signal = SIGNALS[what];
  try {
    process.kill(pid, signal);
  } catch (err) {
    return fail(`cannot signal process ${pid}: ${(err as NodeJS.ErrnoException).code === 'EPERM' ? 'it belongs to another user (try sudo)' : (err as Error).message}`);
  }
  process.stdout.write(`portico: sent ${signal} to ${pid} (${path}); the server's log says how it went\n`);
  return 0;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's command line (Linux), undefined where it cannot be read. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}
