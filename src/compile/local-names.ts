/**
 * Names no public CA will certify, which `tls: auto` therefore serves from the local CA:
 * Caddy's list (https://caddyserver.com/docs/automatic-https#hostname-requirements):
 * localhost and its subdomains (RFC 6761 §6.3), .local (mDNS), .internal, .home.arpa, and IP
 * addresses.
 */
import { isIP } from 'node:net';

const LOCAL_SUFFIXES = ['.localhost', '.local', '.internal', '.home.arpa'];

/** The names a TLS server without `hosts` is certified for by default. */
export const DEFAULT_LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'];

/** `name` may be a host pattern: "*.localhost" and ".localhost" count as local. */
export function isLocalName(name: string): boolean {
  let n = name.toLowerCase().replace(/\.$/, '');
  if (n.startsWith('[') && n.endsWith(']')) n = n.slice(1, -1);
  if (isIP(n)) return true;
  if (n.startsWith('*.')) n = n.slice(2);
  else if (n.startsWith('.')) n = n.slice(1);
  return n === 'localhost' || LOCAL_SUFFIXES.some((s) => n.endsWith(s));
}
