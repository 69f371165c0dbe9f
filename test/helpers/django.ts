/**
 * A real Django (test/fixtures/django_app) under a real gunicorn, for end-to-end tests.
 *
 * Each call works in a fresh temp dir (sqlite database, collected static files, media), runs
 * the fixture's `prepare_e2e` command (migrate, collectstatic, create a superuser), then starts
 * `gunicorn --workers 2` on a free loopback port and waits until it answers.
 *
 * The interpreter must be the one Django is installed for; a pyenv `python3` first on PATH
 * usually is not. PORTICO_E2E_PYTHON and PORTICO_E2E_GUNICORN override the defaults (Debian's
 * python3-django and gunicorn packages).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/helpers/django.js -> test/fixtures/django_app (the sources, not compiled). */
export const DJANGO_APP_DIR = fileURLToPath(new URL('../../../test/fixtures/django_app/', import.meta.url));

const PYTHON = process.env.PORTICO_E2E_PYTHON ?? '/usr/bin/python3';
const GUNICORN = process.env.PORTICO_E2E_GUNICORN ?? 'gunicorn';

export interface DjangoOptions {
  username?: string;
  password?: string;
  /** Django's ALLOWED_HOSTS. */
  allowedHosts?: string[];
  /** HTTPS origins Django is served on: sets SECURE_PROXY_SSL_HEADER, Secure cookies, CSRF_TRUSTED_ORIGINS. */
  httpsOrigins?: string[];
  /** Bounded wait for setup and startup, in ms. */
  timeout?: number;
}

export interface TestDjango {
  /** "127.0.0.1:port", for a Portico `proxy.to`. */
  address: string;
  port: number;
  username: string;
  password: string;
  /** MEDIA_ROOT of this run (files written here are served under /media/). */
  mediaRoot: string;
  /** gunicorn's and Django's stderr so far, for failure messages. */
  output(): string;
  close(): Promise<void>;
}

/** A port that was free a moment ago: bind port 0 on loopback, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startDjango(options: DjangoOptions = {}): Promise<TestDjango> {
  const username = options.username ?? 'alice';
  const password = options.password ?? 'correct horse battery staple';
  const timeout = options.timeout ?? 30_000;
  const dir = await mkdtemp(join(tmpdir(), 'portico-django-'));
  const mediaRoot = join(dir, 'media');
  await mkdir(mediaRoot);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DJANGO_SETTINGS_MODULE: 'project.settings',
    PYTHONDONTWRITEBYTECODE: '1', // no __pycache__ in the fixture dir
    PYTHONUNBUFFERED: '1',
    PORTICO_E2E_DB: join(dir, 'db.sqlite3'),
    PORTICO_E2E_STATIC_ROOT: join(dir, 'static'),
    PORTICO_E2E_MEDIA_ROOT: mediaRoot,
    PORTICO_E2E_ALLOWED_HOSTS: (options.allowedHosts ?? ['127.0.0.1', 'localhost']).join(','),
    PORTICO_E2E_USERNAME: username,
    PORTICO_E2E_PASSWORD: password,
    PORTICO_E2E_HTTPS_ORIGINS: (options.httpsOrigins ?? []).join(','),
  };
  try {
    await run(PYTHON, ['manage.py', 'prepare_e2e'], { cwd: DJANGO_APP_DIR, env }, timeout);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const child = spawn(
    GUNICORN,
    [
      '--workers', '2',
      '--bind', address,
      '--chdir', DJANGO_APP_DIR,
      '--graceful-timeout', '5',
      '--access-logfile', '-',
      'project.wsgi:application',
    ],
    // Own process group, so the SIGKILL fallback also reaches the workers.
    { cwd: DJANGO_APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await stop(child, exited);
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    await waitUntilAnswering(`http://${address}/api/me/`, child, () => output, timeout);
  } catch (err) {
    await close();
    throw err;
  }
  return { address, port, username, password, mediaRoot, output: () => output, close };
}

/** Polls until Django answers 200, the process dies, or the deadline passes. */
async function waitUntilAnswering(url: string, child: ChildProcess, output: () => string, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`gunicorn exited (${child.exitCode ?? child.signalCode}) before answering:\n${output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = String((err as Error).cause ?? err);
    }
    if (Date.now() > deadline) throw new Error(`gunicorn did not answer ${url} within ${timeout} ms (${last}):\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM to the gunicorn master we started (graceful), SIGKILL to its process group after 8s. */
async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 8_000)));
  const outcome = await Promise.race([exited, killed]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    await exited;
  }
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }, timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}):\n${out}`));
    });
  });
}

/** Writes a file under MEDIA_ROOT (served by Django at /media/<name>). */
export async function writeMedia(django: TestDjango, name: string, content: string): Promise<void> {
  await writeFile(join(django.mediaRoot, name), content);
}
