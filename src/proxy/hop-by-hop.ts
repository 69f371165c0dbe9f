/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never
 * forwarded, and neither is any header the `Connection` header names. Proxy-Authorization /
 * Proxy-Authenticate belong to the client<->Portico hop as well (Caddy strips them too).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * Lower-cased header names a Connection header value nominates ("close, X-Secret" ->
 * ["x-secret"]). `Host` is never one: "Connection: Host" would otherwise let a client strip
 * the Host that routing used, and the upstream would see the pool's address instead.
 */
export function connectionTokens(value: string, into: string[]): void {
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade' && t !== 'host') into.push(t);
  }
}

/** Removes the headers named in `names` from a flat header list, in place. */
export function dropNamed(headers: string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!names.includes(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}
