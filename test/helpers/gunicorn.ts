/**
 * gunicorn with sync workers serving test/fixtures/wsgi_app, on a free loopback port. The
 * access log (stdout) tells which requests a worker completed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './django.js';

const APP_DIR = fileURLToPath(new URL('../../../test/fixtures/wsgi_app/', import.meta.url));
const GUNICORN = process.env.PORTICO_E2E_GUNICORN ?? 'gunicorn';

export interface TestGunicorn {
  address: string;
  port: number;
  /** gunicorn's output so far (access log lines: `"GET /big HTTP/1.1" 200 ...`). */
  output(): string;
  close(): Promise<void>;
  /** Graceful stop, as `systemctl stop` does: SIGTERM to the master, which lets workers finish their requests. */
  stop(): Promise<void>;
}

/**
 * `args`: more gunicorn options (`--log-level debug` logs the write errors it otherwise ignores).
 * `port`: bind this one (a restart on the address of one stopped before).
 */
export async function startGunicorn(workers = 2, timeout = 20_000, args: readonly string[] = [], port?: number): Promise<TestGunicorn> {
  port ??= await freePort();
  const address = `127.0.0.1:${port}`;
  const child = spawn(
    GUNICORN,
    ['--workers', String(workers), '--worker-class', 'sync', '--bind', address, '--chdir', APP_DIR, '--graceful-timeout', '1', '--access-logfile', '-', ...args, 'app:application'],
    { cwd: APP_DIR, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, 'SIGKILL'); // the whole group: workers may be stuck on slow clients
    } catch {
      child.kill('SIGKILL');
    }
    await exited;
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + timeout;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gunicorn exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`http://${address}/ping`, { signal: AbortSignal.timeout(1000) });
      if ((await res.text()) === 'pong') break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`gunicorn did not answer within ${timeout} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { address, port, output: () => output, close, stop };
}
