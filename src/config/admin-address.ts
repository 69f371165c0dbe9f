/** Admin listen addresses: "127.0.0.1:2019", "[::1]:2019", "localhost:2019", ":2019", "unix:/run/portico-admin.sock". */
import { isIP } from 'node:net';
import { parseListen } from './address.js';

export type AdminAddress = { kind: 'tcp'; host: string | undefined; port: number } | { kind: 'unix'; path: string };

export function parseAdminListen(text: string): AdminAddress | undefined {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    return path.startsWith('/') || path.startsWith('.') ? { kind: 'unix', path } : undefined;
  }
  const a = parseListen(text);
  return a ? { kind: 'tcp', host: a.host, port: a.port } : undefined;
}

/** Whether only this machine can reach `host` (undefined: every interface, which is not). */
export function isLoopback(host: string | undefined): boolean {
  if (host === undefined) return false;
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
