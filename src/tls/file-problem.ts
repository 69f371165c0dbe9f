/** A file that cannot be read or written, said in words with the errno code ("no such file (ENOENT)"). */
import { userInfo } from 'node:os';

const WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EROFS: 'read-only file system',
  ELOOP: 'too many levels of symbolic links',
  ENOSPC: 'no space left on the device',
  EEXIST: 'exists and is not a directory',
};

export function fileProblem(err: NodeJS.ErrnoException): string {
  const code = err.code;
  if (code === undefined) return err.message;
  const words = WORDS[code];
  const who = code === 'EACCES' || code === 'EPERM' ? ` for ${currentUser()}` : '';
  return words ? `${words}${who} (${code})` : code;
}

/** "uid 33 (www-data)": whose permissions applied. */
function currentUser(): string {
  const uid = process.geteuid?.();
  if (uid === undefined) return 'this user';
  try {
    return `uid ${uid} (${userInfo().username})`;
  } catch {
    return `uid ${uid}`;
  }
}
