/**
 * The start banner: "portico: serving https://app.example.com:443/ (portico.yaml)". For an
 * HTTPS address the URL names a host its certificate covers, so that opening it works: a
 * server's own names for the local CA and ACME, the names in the certificate file otherwise.
 * Worked out before the start (certificate files may be readable by root only).
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { isIP as isIpAddress } from 'node:net';
import type { PorticoConfig } from '../config/schema.js';
import { planTls } from '../compile/tls-plan.js';
import { parseListen } from '../config/address.js';
import { splitPemChain, subjectAltNames } from '../tls/certificate.js';

/** For each HTTPS listen address ("*:443", "127.0.0.1:8443"), the names its certificates cover, in config order. */
export function tlsNamesByAddress(config: PorticoConfig): Map<string, string[]> {
  const byAddress = new Map<string, string[]>();
  config.servers.forEach((server, i) => {
    const site = planTls(server, `servers[${i}]`, config, []);
    if (!site) return;
    const names = site.source.kind === 'files' ? site.source.files.flatMap((f) => fileNames(f.cert)) : [...site.names];
    for (const text of Array.isArray(server.listen) ? server.listen : [server.listen]) {
      const a = parseListen(text)!;
      const key = `${a.host ?? '*'}:${a.port}`;
      byAddress.set(key, [...(byAddress.get(key) ?? []), ...names]);
    }
  });
  return byAddress;
}

function fileNames(path: string): string[] {
  try {
    const leaf = splitPemChain(readFileSync(path, 'utf8'))[0];
    return leaf ? subjectAltNames(new X509Certificate(leaf)) : [];
  } catch {
    return []; // the start reports an unreadable file itself
  }
}

export function bannerUrl(host: string, port: number, tls: boolean, names: readonly string[] = []): string {
  const bound = host === '::' || host === '0.0.0.0' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  if (!tls) return `http://${bound}:${port}/`;
  // A name before an address: browsers check names, and some clients send no SNI for an IP.
  const named = names.find((n) => !n.startsWith('*') && isIpAddress(n) === 0) ?? names.find((n) => isIpAddress(n) !== 0);
  if (named !== undefined) return `https://${named.includes(':') ? `[${named}]` : named}:${port}/`;
  const wildcard = names.find((n) => n.startsWith('*.'));
  return `https://${bound}:${port}/${wildcard ? ` (certificate for ${wildcard})` : ''}`;
}
