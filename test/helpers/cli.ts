/** Runs the built CLI (dist/src/cli/main.js) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment CLI tests run Portico in: the admin listener off (PORTICO_ADMIN=off) unless
 * the test gives PORTICO_ADMIN itself, since many Porticos run at once and would all want 2019.
 */
export function cliEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { PORTICO_ADMIN: 'off', ...env };
}

/** Waits until `text()` matches `re` (a line Portico logs), or fails after `ms`. */
export async function waitFor(text: () => string, re: RegExp, ms = 10_000): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = re.exec(text());
    if (m) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re}:\n${text()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runCli(args: string[], cwd?: string, env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** The processes whose parent is `pid`, from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/**
 * The process that serves: on Linux `portico run` starts itself again with glibc's malloc
 * tuned (src/cli/malloc-relaunch.ts), so it is the launcher's child. Signals go to the
 * launcher (it passes them on); memory and descriptors are the server's.
 */
export function servingPid(launcher: number): number {
  return childrenOf(launcher).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(CLI)) ?? launcher;
}

/**
 * How long a start may take before it counts as hung: a launcher, a server and with `workers`
 * a primary and its workers, each loading Portico, take 2-3 s on this 2-core machine at load
 * 20 and were seen past 10 s there (the old deadline, which then failed correct starts).
 */
export const START_DEADLINE = 60_000;

/** Starts `portico run` and resolves once it prints the address it serves. */
export async function startCli(
  args: string[],
  cwd?: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; port: number; pid: number; stderr: () => string; stdout: () => string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: the test's killAfter knows no pid yet, and a live child would hold
      // the test file open until its timeout, then outlive it.
      for (const pid of [...childrenOf(child.pid!), child.pid!])
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      reject(new Error(`portico did not start within ${START_DEADLINE / 1000} s:\n${stderr}`));
    }, START_DEADLINE);
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c;
      const m = /serving http:\/\/[^ ]+:(\d+)\//.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`portico exited with ${code}:\n${stderr}`));
    });
  });
  return { child, port, pid: servingPid(child.pid!), stderr: () => stderr, stdout: () => stdout };
}

/** SIGKILLs every process listed when the test ends (what a failed test left running). */
export function killAfter(t: { after: (fn: () => void) => void }, pids: () => number[]): void {
  t.after(() => {
    for (const pid of pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}
