/**
 * Test support for file serving: a site tree in a fresh temp directory (with a secret beside
 * it that no request may read), Portico serving it, and a bare harness that runs the files
 * handler on paths the dispatcher would have refused, to show the handler is safe on its own.
 */
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import { validateConfig } from '../../src/config/load.js';
import { parseLocation, type LocationSpec } from '../../src/config/location-syntax.js';
import { filesHandler } from '../../src/handlers/files.js';
import { NO_HEADER_OPS } from '../../src/http/header-ops.js';
import { Exchange } from '../../src/http/exchange.js';
import { NodeH1Writer } from '../../src/http/node-writers.js';
import { UpstreamGroups } from '../../src/upstream/groups.js';
import { UpstreamPools } from '../../src/upstream/pool.js';
import { silentLog } from '../../src/log/error-log.js';
import type { FsBinding } from '../../src/files/fs-binding.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';

export const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';

export interface Site {
  /** The temp directory: holds `secret.txt` and `site/`. */
  tmp: string;
  /** The served directory. */
  root: string;
  cleanup(): Promise<void>;
}

/**
 *   secret.txt                   outside the root
 *   site/index.html hello.txt data.json unknown.zzz
 *   site/app.js (+ .br .gz .zst sidecars with distinct bodies)
 *   site/docs/index.html  site/empty/  site/%2e%2e  (a file literally named so)
 *   site/.env  site/.git/config  site/.well-known/acme.txt
 *   site/link-in -> hello.txt   site/link-out -> ../secret.txt   site/dir-out -> ..
 */
export async function makeSite(): Promise<Site> {
  const tmp = await mkdtemp(join(tmpdir(), 'portico-files-'));
  const root = join(tmp, 'site');
  await mkdir(join(root, 'docs'), { recursive: true });
  await mkdir(join(root, 'empty'));
  await mkdir(join(root, '.git'));
  await mkdir(join(root, '.well-known'));
  const files: Record<string, string> = {
    'secret.txt': SECRET,
    'site/index.html': '<h1>home</h1>\n',
    'site/hello.txt': 'hello, world\n',
    'site/data.json': '{"ok":true}\n',
    'site/unknown.zzz': 'zzz',
    'site/app.js': 'console.log("identity");\n',
    'site/app.js.br': 'BROTLI-BYTES',
    'site/app.js.gz': 'GZIP-BYTES',
    'site/app.js.zst': 'ZSTD-BYTES',
    'site/docs/index.html': '<h1>docs</h1>\n',
    'site/%2e%2e': 'literally named %2e%2e\n',
    'site/.env': `SECRET_KEY=${SECRET}`,
    'site/.git/config': `[core] ${SECRET}`,
    'site/.well-known/acme.txt': 'challenge-token\n',
  };
  for (const [name, body] of Object.entries(files)) await writeFile(join(tmp, name), body);
  await symlink('hello.txt', join(root, 'link-in'));
  await symlink('../secret.txt', join(root, 'link-out'));
  await symlink('..', join(root, 'dir-out'));
  return { tmp, root, cleanup: () => rm(tmp, { recursive: true, force: true }) };
}

/** Portico with one route serving `files` (plus any extra routes after it). */
export function serveFiles(path: string, files: Record<string, unknown>, extra: unknown[] = []): Promise<TestPortico> {
  return startPortico({ servers: [{ routes: [{ path, files }, ...extra] }] } as PorticoConfigInput);
}

export interface Bare {
  port: number;
  close(): Promise<void>;
}

/**
 * The files handler alone behind a node server that hands it the path percent-decoded but
 * NOT normalized: what the handler would see if the dispatcher's checks were ever bypassed.
 */
export async function startBare(route: { path: string; files: Record<string, unknown> }, fs?: FsBinding): Promise<Bare> {
  const config = validateConfig({ servers: [{ routes: [route] }] }, 'bare');
  const spec = parseLocation(route.path) as LocationSpec;
  const handler = filesHandler(
    config.servers[0]!.routes[0]!.files!,
    { name: 'bare', requestHeaders: NO_HEADER_OPS, stripPrefix: undefined, maxBodySize: Infinity, client: { bodyTimeout: 0, sendTimeout: 0 } },
    {
      spec,
      baseDir: process.cwd(),
      pools: new UpstreamPools(),
      groups: new UpstreamGroups(undefined, { log: silentLog(), baseDir: process.cwd() }, 'bare'),
      log: silentLog(),
      fs,
    },
  );
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const raw = q < 0 ? url : url.slice(0, q);
    let path: string;
    try {
      path = decodeURIComponent(raw);
    } catch {
      path = raw;
    }
    handler.handle(new Exchange(req, new NodeH1Writer(res, req.method === 'HEAD'), req, req.socket, '127.0.0.1', '127.0.0.1', 'http', false, 0, 'bare', path, raw, q < 0 ? '' : url.slice(q)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A GET on a fresh raw connection, the request target sent byte for byte. */
export function rawGet(target: string, extra = ''): string {
  return `GET ${target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n${extra}\r\n`;
}
