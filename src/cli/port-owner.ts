/**
 * Which process listens on a TCP port, for "address in use" at start: what `ss -ltnp` shows,
 * read the same way from /proc. The kernel's socket tables (/proc/net/tcp, tcp6) give the
 * inode of each listening socket; a process's descriptors (/proc/PID/fd/*) link to
 * "socket:[INODE]". Another user's descriptors can be read by root only, so a non-root
 * Portico may find the socket but not its process. Linux only; elsewhere nothing is found.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface PortOwner {
  pid: number;
  /** The process's command name (/proc/PID/comm): "nginx", "node", "caddy". */
  name: string;
}

/** TCP state 0A is LISTEN (include/net/tcp_states.h). */
const LISTEN = '0A';

/** Inodes of the sockets listening on `port`, from /proc/net/tcp and tcp6. */
export function listeningInodes(port: number, proc = '/proc'): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${proc}/net/${table}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN) continue;
      const local = f[1]!;
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && f[9] !== '0') inodes.add(f[9]!);
    }
  }
  return inodes;
}

/**
 * The processes holding a socket that listens on `port`; `socketFound` says whether such a
 * socket exists at all (it may, with its process out of sight).
 */
export function portOwners(port: number, proc = '/proc'): { owners: PortOwner[]; socketFound: boolean } {
  const inodes = listeningInodes(port, proc);
  if (inodes.size === 0) return { owners: [], socketFound: false };
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  const owners: PortOwner[] = [];
  for (const entry of safeList(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = safeList(`${proc}/${entry}/fd`);
    if (!fds.some((fd) => wanted.has(safeLink(`${proc}/${entry}/fd/${fd}`)))) continue;
    let name = '?';
    try {
      name = readFileSync(`${proc}/${entry}/comm`, 'utf8').trim();
    } catch {
      // it ended while we looked
    }
    owners.push({ pid: Number(entry), name });
  }
  return { owners, socketFound: true };
}

/** "by nginx (pid 812)", "by nginx (pids 812, 813)", or how to find out when it cannot be seen. */
export function describeOwners(port: number, proc = '/proc'): string {
  const { owners, socketFound } = portOwners(port, proc);
  if (owners.length === 0) {
    return socketFound
      ? `by a process this user cannot see (as root: ss -ltnp 'sport = :${port}')`
      : '(no process is listening on it now: it may have been taken for a moment)';
  }
  const byName = new Map<string, number[]>();
  for (const o of owners) byName.set(o.name, [...(byName.get(o.name) ?? []), o.pid]);
  return `by ${[...byName].map(([name, pids]) => `${name} (pid${pids.length > 1 ? 's' : ''} ${pids.join(', ')})`).join(', ')}`;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function safeLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}
