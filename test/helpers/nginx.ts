/**
 * A real nginx (Debian's package) for side-by-side tests: each call gets its own prefix
 * directory (nginx -p), runs in the foreground (daemon off) with its error log on stderr (-e),
 * and listens wherever the config says. Run as root, nginx's workers become `nobody`, so the
 * prefix and anything served from it are made world-readable (0755).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const NGINX = process.env.PORTICO_TEST_NGINX ?? 'nginx';

/** Temp paths inside the prefix, so nginx writes nothing under /var/lib/nginx. */
export const TEMP_PATHS = `client_body_temp_path tmp/body;
proxy_temp_path tmp/proxy;
fastcgi_temp_path tmp/fastcgi;
uwsgi_temp_path tmp/uwsgi;
scgi_temp_path tmp/scgi;
`;

export interface NginxPrefix {
  dir: string;
  /** Path of the main config file inside the prefix. */
  conf: string;
  remove(): Promise<void>;
}

/** A prefix directory holding `files` (relative paths -> contents); `nginx.conf` is the main file. */
export async function makePrefix(files: Record<string, string>): Promise<NginxPrefix> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-nginx-'));
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'tmp'), { mode: 0o755 });
  await mkdir(join(dir, 'logs'), { mode: 0o755 });
  for (const [rel, text] of Object.entries(files)) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFile(path, text, { mode: 0o644 });
    for (let d = dirname(path); d.startsWith(dir) && d !== dir; d = dirname(d)) await chmod(d, 0o755);
  }
  return { dir, conf: join(dir, 'nginx.conf'), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** `nginx -t` on a prefix: exit code and what it printed. */
export function nginxTest(prefix: NginxPrefix): { ok: boolean; output: string } {
  const r = spawnSync(NGINX, ['-t', '-p', `${prefix.dir}/`, '-c', prefix.conf, '-e', 'stderr', '-g', `pid ${prefix.dir}/nginx.pid;`], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

export interface TestNginx {
  prefix: NginxPrefix;
  output(): string;
  close(): Promise<void>;
}

/** Starts nginx on a prefix and resolves once `port` accepts connections. */
export async function startNginx(prefix: NginxPrefix, port: number): Promise<TestNginx> {
  const child: ChildProcess = spawn(
    NGINX,
    ['-p', `${prefix.dir}/`, '-c', prefix.conf, '-e', 'stderr', '-g', `daemon off; pid ${prefix.dir}/nginx.pid;`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c));
  child.stderr!.on('data', (c: Buffer) => (output += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // nginx's fast shutdown
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${output}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`nginx did not listen on ${port}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { prefix, output: () => output, close };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** Whether nginx is installed (scripts/ensure-test-deps.sh installs it). */
export function haveNginx(): boolean {
  return spawnSync(NGINX, ['-v']).status === 0;
}
