/**
 * A real Caddy (Debian's package) for side-by-side tests: `caddy run` on a Caddyfile in a temp
 * directory, with its data and config directories there too. The Caddyfile should turn off the
 * admin endpoint and automatic HTTPS so nothing outside the directory is touched.
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';

export const CADDY = process.env.PORTICO_TEST_CADDY ?? 'caddy';

export function haveCaddy(): boolean {
  return spawnSync(CADDY, ['version']).status === 0;
}

export interface TestCaddy {
  output(): string;
  close(): Promise<void>;
}

export async function startCaddy(caddyfile: string, dir: string, port: number): Promise<TestCaddy> {
  const child = spawn(CADDY, ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
    cwd: dir,
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: `${dir}/data`, XDG_CONFIG_HOME: `${dir}/config` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c));
  child.stderr.on('data', (c: Buffer) => (output += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`caddy exited with ${child.exitCode}:\n${output}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`caddy did not listen on ${port}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { output: () => output, close };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}
