/**
 * CIDR lists (trusted proxies, later allow/deny) on top of node's net.BlockList, which
 * matches IPv4 and IPv6 in native code.
 */
import { BlockList, isIP } from 'node:net';

/** Caddy's `private_ranges` shorthand. */
const PRIVATE_RANGES = ['192.168.0.0/16', '172.16.0.0/12', '10.0.0.0/8', '127.0.0.0/8', 'fd00::/8', '::1/128'];

function expand(entries: readonly string[]): string[] {
  return entries.flatMap((e) => (e === 'private_ranges' ? PRIVATE_RANGES : [e]));
}

function parseEntry(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** The first entry that is not a CIDR, an address or 'private_ranges'; undefined when all are fine. */
export function isCidrList(entries: readonly string[]): string | undefined {
  return expand(entries).find((e) => parseEntry(e) === undefined);
}

/** "::ffff:127.0.0.1" (IPv4 on a dual-stack socket) -> "127.0.0.1". */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export interface CidrMatcher {
  readonly empty: boolean;
  has(ip: string): boolean;
}

const NONE: CidrMatcher = { empty: true, has: () => false };

export function cidrMatcher(entries: readonly string[]): CidrMatcher {
  const list = expand(entries);
  if (list.length === 0) return NONE;
  const blocks = new BlockList();
  for (const entry of list) {
    const parsed = parseEntry(entry);
    if (!parsed) throw new Error(`not a CIDR: ${entry}`);
    blocks.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return {
    empty: false,
    has(ip: string): boolean {
      const version = isIP(ip);
      return version !== 0 && blocks.check(ip, version === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
