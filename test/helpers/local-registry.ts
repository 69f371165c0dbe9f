/**
 * An npm registry on loopback serving Portico's production dependencies, packed from the
 * installed node_modules at the versions package-lock.json names: `npm install` of Portico's
 * tarball resolves and fetches them from here, never from the network (npm's own cache is not
 * reliable offline: it keeps the short metadata documents a lockfile install fetched, while a
 * global install asks for the full ones).
 */
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync, existsSync, realpathSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname, basename } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface LocalRegistry {
  url: string;
  /** Package names served. */
  names: string[];
  close(): Promise<void>;
}

interface Version {
  manifest: Record<string, unknown>;
  tarball: Buffer;
}

/** `root`: the project (package-lock.json, node_modules); `work`: a directory for the tarballs. */
export async function startLocalRegistry(root: string, work: string): Promise<LocalRegistry> {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; version?: string }> };
  const packages = new Map<string, Map<string, Version>>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev) continue;
    if (!existsSync(join(root, path, 'package.json'))) continue; // an optional one for another platform
    // A package linked in from elsewhere (a worktree's node_modules): tar packs the files, not the link.
    const dir = realpathSync(join(root, path));
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const name = manifest.name as string;
    const version = manifest.version as string;
    if (packages.get(name)?.has(version)) continue;
    const file = join(work, `${name.replace('/', '-')}-${version}.tgz`);
    // npm's layout: every entry under package/; nested node_modules are packages of their own.
    const tar = spawnSync('tar', ['-czf', file, '--exclude=node_modules', '-C', dirname(dir), `--transform=s,^${basename(dir)},package,`, basename(dir)]);
    if (tar.status !== 0) throw new Error(`tar ${dir}: ${tar.stderr.toString()}`);
    if (!packages.has(name)) packages.set(name, new Map());
    packages.get(name)!.set(version, { manifest, tarball: readFileSync(file) });
  }

  let base = '';
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
    const tgz = /^-\/(.+)\/(.+)\.tgz$/.exec(path);
    if (tgz) {
      const v = packages.get(tgz[1]!)?.get(tgz[2]!);
      if (!v) return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': v.tarball.length });
      return void res.end(v.tarball);
    }
    const versions = packages.get(path);
    if (!versions) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
    const doc = {
      name: path,
      'dist-tags': { latest: [...versions.keys()].at(-1) },
      versions: Object.fromEntries(
        [...versions].map(([version, v]) => [
          version,
          {
            ...v.manifest,
            dist: {
              tarball: `${base}/-/${encodeURIComponent(path)}/${version}.tgz`,
              shasum: createHash('sha1').update(v.tarball).digest('hex'),
              integrity: `sha512-${createHash('sha512').update(v.tarball).digest('base64')}`,
            },
          },
        ]),
      ),
    };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(doc));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/`,
    names: [...packages.keys()],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
