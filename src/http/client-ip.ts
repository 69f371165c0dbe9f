/**
 * The client address behind trusted proxies: X-Forwarded-For read right to left, skipping
 * trusted hops; the first untrusted address is the client (Caddy's trusted_proxies_strict,
 * nginx's real_ip_recursive on). The left-most entry is never believed blindly: any client
 * can write it (caddy#5804).
 */
import { isIP } from 'node:net';
import { normalizeIp, type CidrMatcher } from './cidr.js';

export function clientIpFrom(rawHeaders: readonly string[], peerIp: string, trusted: CidrMatcher): string {
  let chain = '';
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 15 && name.toLowerCase() === 'x-forwarded-for') chain = chain === '' ? rawHeaders[i + 1]! : `${chain}, ${rawHeaders[i + 1]}`;
  }
  if (chain === '') return peerIp;
  const hops = chain.split(',');
  let client = peerIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = normalizeIp(hops[i]!.trim());
    if (isIP(ip) === 0) return client; // garbage: stop at the last address we could verify
    client = ip;
    if (!trusted.has(ip)) return ip;
  }
  return client;
}
