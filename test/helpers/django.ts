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
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request as httpRequest } from 'node:http';
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
  /** A second, ordinary user (two sessions at once). */
  secondUser?: { username: string; password: string };
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
/**
 * A port that is free now and stays free until its user binds it: chosen below the kernel's
 * ephemeral range, so no `listen(0)` and no outgoing connection of a concurrent test can take it
 * in between (the ACME test hands its ports to pebble long before Portico binds them; CI once
 * lost such a port to an ephemeral one).
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const low = 10_000;
  const high = Math.max(low + 1000, ephemeralLow) - 1;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${low} and ${high}`);
}

const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [a, b] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (a! > 0 && b! > 0) return [a!, b!];
  } catch {
    // not Linux: fall back to IANA's dynamic range
  }
  return [49152, 65535];
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A Django project made ready to serve (database, static files, user) in its own temp dir. */
export interface PreparedDjango {
  dir: string;
  env: NodeJS.ProcessEnv;
  username: string;
  password: string;
  mediaRoot: string;
  timeout: number;
  /** Removes the temp dir. */
  cleanup(): Promise<void>;
}

export async function prepareDjango(options: DjangoOptions = {}): Promise<PreparedDjango> {
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
    PORTICO_E2E_USER2: options.secondUser ? `${options.secondUser.username}:${options.secondUser.password}` : '',
  };
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await run(PYTHON, ['manage.py', 'prepare_e2e'], { cwd: DJANGO_APP_DIR, env }, timeout);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { dir, env, username, password, mediaRoot, timeout, cleanup };
}

export interface GunicornOptions {
  /** 'tcp' (default: a free loopback port) or 'unix' (a socket in the prepared dir). */
  bind?: 'tcp' | 'unix';
  workers?: number;
  /** Threads per worker: gunicorn's gthread workers, which keep connections alive (sync workers close each). */
  threads?: number;
  /** 'sync' (default: one request per connection) or 'gthread' (keep-alive, as in many deployments). */
  workerClass?: 'sync' | 'gthread';
}

/** One gunicorn master (sync workers) serving a prepared Django; can be killed and started again. */
export interface Gunicorn {
  /** What a Portico `proxy.to` takes: "127.0.0.1:port" or "unix:/path.sock". */
  address: string;
  /** Every run's gunicorn output (access log lines included), concatenated. */
  output(): string;
  /** Access-log lines whose request line starts with `GET <pathPrefix>`, over every run. */
  requests(pathPrefix: string): number;
  /** Signal to the whole process group (master and workers); resolves when the master is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same address; resolves when it answers. */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM, SIGKILL after 8s). */
  close(): Promise<void>;
}

export async function startGunicorn(prepared: PreparedDjango, options: GunicornOptions = {}): Promise<Gunicorn> {
  const unix = options.bind === 'unix';
  const address = unix ? `unix:${join(prepared.dir, `gunicorn-${Math.random().toString(36).slice(2, 8)}.sock`)}` : `127.0.0.1:${await freePort()}`;
  let output = '';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    child = spawn(
      GUNICORN,
      [
        '--workers', String(options.workers ?? 2),
        ...(options.threads ? ['--worker-class', 'gthread', '--threads', String(options.threads)] : ['--worker-class', options.workerClass ?? 'sync']),
        '--bind', address,
        '--chdir', DJANGO_APP_DIR,
        '--graceful-timeout', '5',
        '--access-logfile', '-',
        'project.wsgi:application',
      ],
      // Own process group, so a kill reaches the workers too.
      { cwd: DJANGO_APP_DIR, env: prepared.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    const c = child;
    c.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    c.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    try {
      await waitUntilAnswering(address, c, () => output, prepared.timeout);
    } catch (err) {
      await stop(c, exited);
      throw err;
    }
  };
  await start();
  return {
    address,
    output: () => output,
    requests: (prefix) => output.split('\n').filter((l) => l.includes(`"GET ${prefix}`)).length,
    async kill(signal = 'SIGKILL') {
      const c = child!;
      try {
        process.kill(-c.pid!, signal);
      } catch {
        c.kill(signal);
      }
      await exited;
    },
    start,
    close: () => stop(child!, exited),
  };
}

export async function startDjango(options: DjangoOptions = {}): Promise<TestDjango> {
  const prepared = await prepareDjango(options);
  let gunicorn: Gunicorn;
  try {
    gunicorn = await startGunicorn(prepared);
  } catch (err) {
    await prepared.cleanup();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await gunicorn.close();
      await prepared.cleanup();
    })());
  const port = Number(gunicorn.address.slice(gunicorn.address.lastIndexOf(':') + 1));
  return {
    address: gunicorn.address,
    port,
    username: prepared.username,
    password: prepared.password,
    mediaRoot: prepared.mediaRoot,
    output: gunicorn.output,
    close,
  };
}

/** Polls /api/me/ until Django answers 200, the process dies, or the deadline passes. */
async function waitUntilAnswering(address: string, child: ChildProcess, output: () => string, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`gunicorn exited (${child.exitCode ?? child.signalCode}) before answering:\n${output()}`);
    try {
      const status = await probe(address);
      if (status === 200) return;
      last = `status ${status}`;
    } catch (err) {
      last = String((err as Error).message);
    }
    if (Date.now() > deadline) throw new Error(`gunicorn did not answer ${address} within ${timeout} ms (${last}):\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET /api/me/?ready over TCP or a unix socket; resolves with the status. */
function probe(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const where = address.startsWith('unix:')
      ? { socketPath: address.slice(5) }
      : { host: '127.0.0.1', port: Number(address.slice(address.lastIndexOf(':') + 1)) };
    const req = httpRequest({ ...where, path: '/api/me/?ready', headers: { Host: '127.0.0.1' }, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
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
