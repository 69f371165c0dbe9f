/**
 * The node:fs side of file serving, kept thin so the protocol code can be driven by a fake
 * (STYLE §12). Errors that mean "no such file" become `undefined`; permission errors become
 * 'forbidden'; anything else is thrown and answered 500.
 */
import { close, open, read, readdir, readFile, realpath, stat, constants } from 'node:fs';

export interface FileStat {
  readonly kind: 'file' | 'dir' | 'other';
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

export interface DirEntry {
  readonly name: string;
  readonly stat: FileStat;
  readonly symlink: boolean;
  /** Where a symlink leads (only read for symlinks; undefined when it cannot be resolved). */
  readonly realpath: string | undefined;
}

export type Missing = undefined | 'forbidden';

export interface FsBinding {
  stat(path: string): Promise<FileStat | Missing>;
  realpath(path: string): Promise<string | Missing>;
  readFile(path: string): Promise<Buffer>;
  open(path: string): Promise<number | Missing>;
  read(fd: number, buf: Buffer, length: number, position: number, cb: (err: Error | null, bytes: number) => void): void;
  close(fd: number): void;
  list(dir: string): Promise<DirEntry[]>;
}

const GONE = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP']);
const DENIED = new Set(['EACCES', 'EPERM']);

function settle<T>(resolve: (v: T | Missing) => void, reject: (e: Error) => void, err: NodeJS.ErrnoException): void {
  if (GONE.has(err.code ?? '')) resolve(undefined);
  else if (DENIED.has(err.code ?? '')) resolve('forbidden');
  else reject(err);
}

function toStat(s: import('node:fs').Stats): FileStat {
  return {
    kind: s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other',
    ino: s.ino,
    size: s.size,
    mtimeMs: s.mtimeMs,
    ctimeMs: s.ctimeMs,
  };
}

// O_NOCTTY/O_NONBLOCK: a FIFO or device that slipped past the checks must not block a thread.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

export const nodeFs: FsBinding = {
  stat: (path) => new Promise((resolve, reject) => stat(path, (err, s) => (err ? settle(resolve, reject, err) : resolve(toStat(s))))),
  realpath: (path) =>
    new Promise((resolve, reject) => realpath.native(path, (err, p) => (err ? settle(resolve, reject, err) : resolve(p)))),
  readFile: (path) => new Promise((resolve, reject) => readFile(path, (err, b) => (err ? reject(err) : resolve(b)))),
  open: (path) => new Promise((resolve, reject) => open(path, OPEN_FLAGS, (err, fd) => (err ? settle(resolve, reject, err) : resolve(fd)))),
  read: (fd, buf, length, position, cb) => read(fd, buf, 0, length, position, cb),
  close: (fd) => close(fd, () => {}),
  async list(dir) {
    const dirents = await new Promise<import('node:fs').Dirent[]>((resolve, reject) =>
      readdir(dir, { withFileTypes: true }, (err, d) => (err ? reject(err) : resolve(d))),
    );
    const out: DirEntry[] = [];
    await Promise.all(
      dirents.map(async (d) => {
        const path = dir.endsWith('/') ? dir + d.name : `${dir}/${d.name}`;
        const s = await nodeFs.stat(path);
        if (s === undefined || s === 'forbidden') return; // dangling symlink, or unreadable
        const real = d.isSymbolicLink() ? await nodeFs.realpath(path) : undefined;
        out.push({ name: d.name, stat: s, symlink: d.isSymbolicLink(), realpath: typeof real === 'string' ? real : undefined });
      }),
    );
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },
};
