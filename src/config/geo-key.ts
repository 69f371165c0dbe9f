/**
 * The keys of a map of addresses (nginx's geo, https://nginx.org/en/docs/http/ngx_http_geo_module.html),
 * read when the config is validated and when it is compiled (compile/geo.ts): CIDRs
 * ("10.0.0.0/8", "2001:db8::/32", a bare address) and IPv4 ranges "first-last", as numbers.
 */
import { isIP } from 'node:net';
import { normalizeIp } from '../http/cidr.js';

/** An address as a number of its family; undefined when it is not one. */
export function addressNumber(text: string): { family: 4 | 6; n: bigint } | undefined {
  const ip = normalizeIp(text);
  const v = isIP(ip);
  if (v === 4) return { family: 4, n: ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  if (v !== 6) return undefined;
  // Expand "::", and an IPv4 tail ("::ffff:1.2.3.4").
  let s = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = addressNumber(v4[1]!)!.n;
    s = s.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  return { family: 6, n: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n) };
}

/** "10.0.0.0/8", "1.2.3.4" or "2001:db8::/32" as a range; undefined when malformed. */
export function parseCidr(text: string): { family: 4 | 6; first: bigint; last: bigint } | undefined {
  const slash = text.indexOf('/');
  const a = addressNumber(slash < 0 ? text : text.slice(0, slash));
  if (!a) return undefined;
  const bits = a.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  const host = BigInt(bits - Number(prefixText));
  const first = (a.n >> host) << host;
  return { family: a.family, first, last: first + (1n << host) - 1n };
}

/** "1.2.3.0-1.2.3.255" (IPv4, first <= last); undefined when malformed. */
export function parseRange(text: string): { family: 4; first: bigint; last: bigint } | undefined {
  const dash = text.indexOf('-');
  if (dash < 0) return undefined;
  const a = addressNumber(text.slice(0, dash));
  const b = addressNumber(text.slice(dash + 1));
  if (a?.family !== 4 || b?.family !== 4 || a.n > b.n) return undefined;
  return { family: 4, first: a.n, last: b.n };
}
