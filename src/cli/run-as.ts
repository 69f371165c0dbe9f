/**
 * Serving as an unprivileged user when started as root (nginx's `user`,
 * https://nginx.org/en/docs/ngx_core_module.html#user): the ports below 1024 and the private
 * keys are root's, so those are taken first; every request is then served by a process that
 * has dropped to the user, its group and that user's supplementary groups (initgroups, as
 * nginx's workers do), for good: root cannot be taken back.
 *
 * node has no getpwnam: a name is resolved by taking it as the effective user for a moment
 * (seteuid, which root can undo) and reading os.userInfo(), which libuv takes from the
 * password database by the effective uid, so NSS users (LDAP, systemd's) resolve as well.
 */
import { userInfo } from 'node:os';

export interface RunAs {
  /** The user's name (initgroups reads the supplementary groups by it). */
  name: string;
  uid: number;
  gid: number;
  /** The group's name, or the gid as text when it was not given by name. */
  group: string;
  home: string;
}

export const isRoot = (): boolean => process.geteuid?.() === 0;

/** POSIX credential calls (node has them on every platform but Windows; @types/node lacks initgroups). */
const posix = process as NodeJS.Process & {
  seteuid(id: number | string): void;
  setegid(id: number | string): void;
  setuid(id: number | string): void;
  setgid(id: number | string): void;
  setgroups(groups: readonly (number | string)[]): void;
  initgroups(user: string | number, extraGroup: string | number): void;
  getgroups(): number[];
  geteuid(): number;
  getegid(): number;
};

/** Looks the user (and group) up; root only. A string is what is wrong ("no user named 'x'"). */
export function lookUp(user: { name: string; group: string | undefined }): RunAs | string {
  const euid = posix.geteuid();
  const egid = posix.getegid();
  let info: ReturnType<typeof userInfo>;
  try {
    posix.seteuid(user.name);
  } catch {
    return `no user named '${user.name}' on this system`;
  }
  try {
    info = userInfo();
  } finally {
    posix.seteuid(euid);
  }
  if (user.group === undefined) return { name: user.name, uid: info.uid, gid: info.gid, group: String(info.gid), home: String(info.homedir) };
  let gid: number;
  try {
    posix.setegid(user.group);
    gid = posix.getegid();
  } catch {
    return `no group named '${user.group}' on this system`;
  } finally {
    posix.setegid(egid);
  }
  return { name: user.name, uid: info.uid, gid, group: user.group, home: String(info.homedir) };
}

/** The user with this uid (root only), from the password database; undefined when there is none. */
export function userById(uid: number): RunAs | undefined {
  const euid = posix.geteuid();
  let info: ReturnType<typeof userInfo>;
  try {
    posix.seteuid(uid);
    info = userInfo();
  } catch {
    return undefined;
  } finally {
    posix.seteuid(euid);
  }
  return { name: String(info.username), uid: info.uid, gid: info.gid, group: String(info.gid), home: String(info.homedir) };
}

/** The user sudo was run by (SUDO_UID, SUDO_GID, SUDO_USER), when this process is root under sudo. */
export function sudoCaller(env: NodeJS.ProcessEnv = process.env): RunAs | undefined {
  if (!isRoot() || !env.SUDO_UID || env.SUDO_UID === '0' || !env.SUDO_USER) return undefined;
  const found = lookUp({ name: env.SUDO_USER, group: undefined });
  return typeof found === 'string' ? undefined : found;
}

/**
 * Runs `fn` with the user's effective ids (files it creates are the user's; access is checked
 * as the user's), then takes root back. For what must be done before serving but belongs to
 * the user: the data directory and the local CA in it.
 */
export async function asUser<T>(user: RunAs, fn: () => Promise<T>): Promise<T> {
  const groups = posix.getgroups();
  posix.initgroups(user.name, user.gid);
  posix.setegid(user.gid);
  posix.seteuid(user.uid);
  try {
    return await fn();
  } finally {
    posix.seteuid(0);
    posix.setegid(0);
    posix.setgroups(groups);
  }
}

/** Becomes the user for good; throws if root could be taken back. */
export function dropTo(user: RunAs): void {
  posix.initgroups(user.name, user.gid);
  posix.setgid(user.gid);
  posix.setuid(user.uid);
  let regained = false;
  try {
    posix.setuid(0);
    regained = true;
  } catch {
    // as it must be
  }
  if (regained || posix.geteuid() !== user.uid || posix.getegid() !== user.gid) throw new Error(`could not drop root for user '${user.name}'`);
}

/** "www-data (uid 33, gid 33)" */
export function describeUser(user: RunAs): string {
  return `${user.name} (uid ${user.uid}, gid ${user.gid})`;
}
