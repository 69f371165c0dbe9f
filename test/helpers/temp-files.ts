/** Temp files of buffered bodies held open by this process (Portico runs in-process in tests). */
import { readdirSync, readlinkSync } from 'node:fs';

/** Descriptors of files named portico-<pid>-... (deleted or not). */
export function openTempFds(): { fd: string; target: string }[] {
  const out: { fd: string; target: string }[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.includes(`portico-${process.pid}-`)) out.push({ fd, target });
    } catch {
      // closed meanwhile
    }
  }
  return out;
}
