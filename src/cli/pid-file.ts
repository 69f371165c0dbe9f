/**
 * `pid_file` (nginx's `pid`, https://nginx.org/en/docs/ngx_core_module.html#pid): once
 * `portico run` serves, the pid that signals go to (the launcher's when there is one,
 * malloc-relaunch.ts) is written there, so `kill -HUP $(cat FILE)` works as with nginx and a
 * supervisor or test harness that waits for the file knows the listeners are up. nginx removes
 * the file when it exits; so does Portico, if the file still names this server.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { signalPid } from './malloc-relaunch.js';

export interface PidFile {
  remove(): void;
}

export function writePidFile(path: string): PidFile {
  const pid = String(signalPid());
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${pid}\n`);
  return {
    remove() {
      try {
        if (readFileSync(path, 'utf8').trim() === pid) unlinkSync(path);
      } catch {
        // gone already
      }
    },
  };
}
