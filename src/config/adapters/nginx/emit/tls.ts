/**
 * `listen ... ssl` with `ssl_certificate` / `ssl_certificate_key`
 * (https://nginx.org/en/docs/http/ngx_http_ssl_module.html) -> a Portico server's `tls` with
 * certificate files. Several pairs (RSA + ECDSA) become a list; relative paths are relative to
 * the main config's directory, as nginx reads them. HTTP/2 comes with TLS in Portico (ALPN), so
 * `http2` needs nothing. nginx does not redirect HTTP to HTTPS unless told, so neither does the
 * adapted server (`http_redirect: false`).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { effective, effectiveOne, type Scope } from '../scope.js';
import type { AdaptContext } from './context.js';
import type { ListenInfo } from './server.js';

export function emitTls(server: Scope, sslListens: readonly ListenInfo[], ctx: AdaptContext, borrowed?: Scope): Record<string, unknown> | undefined {
  const certs = effective(borrowed ?? server, 'ssl_certificate');
  const keys = effective(borrowed ?? server, 'ssl_certificate_key');
  const at = sslListens[0]!.d ?? server.block!;
  if (certs.length === 0) {
    ctx.diag.error(at, `no "ssl_certificate" is defined for the "listen ... ssl" directive`);
    return undefined;
  }
  const pairs: { cert: string; key: string }[] = [];
  for (const [i, c] of certs.entries()) {
    const k = keys[i];
    if (!k) {
      ctx.diag.error(c, `no "ssl_certificate_key" is defined for certificate "${c.args[0]}"`);
      return undefined;
    }
    if (c.args[0]!.includes('$') || k.args[0]!.includes('$')) {
      ctx.diag.warn(c, `ssl_certificate "${c.args[0]}": Portico takes certificate files, not variables; this server's HTTPS addresses are left out`);
      return undefined;
    }
    const cert = path(c.args[0]!, ctx);
    const key = path(k.args[0]!, ctx);
    // As `nginx -t`, which loads them: a missing file is an error at its directive, not a
    // server that fails later (or, under `check`, never).
    if (!readable(cert)) ctx.diag.error(c, `cannot load certificate "${cert}": no such file or not readable`);
    if (!readable(key)) ctx.diag.error(k, `cannot load certificate key "${key}": no such file or not readable`);
    pairs.push({ cert, key });
  }
  const protocols = effectiveOne(server, 'ssl_protocols');
  const old = protocols?.args.filter((p) => p === 'SSLv2' || p === 'SSLv3' || p === 'TLSv1' || p === 'TLSv1.1') ?? [];
  if (protocols && old.length > 0) ctx.diag.warn(protocols, `ssl_protocols ${old.join(' ')}: Portico speaks TLS 1.2 and 1.3 only`);
  const out: Record<string, unknown> = { tls: pairs.length === 1 ? pairs[0] : pairs, http_redirect: false };
  const client = clientCertificates(server, ctx, borrowed === undefined);
  if (client) out.client_certificates = client;
  return out;
}

/**
 * `ssl_verify_client on | optional | optional_no_ca` with `ssl_client_certificate` (the CAs
 * asked for), `ssl_trusted_certificate` (trusted too), `ssl_verify_depth` and `ssl_crl` ->
 * the server's `client_certificates` (src/compile/client-auth.ts). `ssl_ocsp` is not carried over:
 * refused (registry), a revocation check left out would let revoked certificates in.
 */
function clientCertificates(server: Scope, ctx: AdaptContext, ownCertificates: boolean): Record<string, unknown> | undefined {
  const verify = effectiveOne(server, 'ssl_verify_client');
  const mode = verify?.args[0];
  if (verify === undefined || mode === 'off') return undefined;
  if (mode !== 'on' && mode !== 'optional' && mode !== 'optional_no_ca') {
    ctx.diag.error(verify, `invalid value "${mode}" in "ssl_verify_client" directive, it must be "on", "off", "optional" or "optional_no_ca"`);
    return undefined;
  }
  const out: Record<string, unknown> = { verify: mode };
  for (const [directive, key] of [['ssl_client_certificate', 'ca'], ['ssl_trusted_certificate', 'trusted'], ['ssl_crl', 'crl']] as const) {
    const d = effectiveOne(server, directive);
    if (!d) continue;
    const file = path(d.args[0]!, ctx);
    if (!readable(file)) ctx.diag.error(d, `cannot load ${key === 'crl' ? 'CRL' : 'certificate'} "${file}": no such file or not readable`);
    out[key] = file;
  }
  // nginx -t (ngx_http_ssl_merge_srv_conf, for a server with certificates of its own).
  if (ownCertificates && mode !== 'optional_no_ca' && out.ca === undefined)
    ctx.diag.error(verify, `no ssl_client_certificate or ssl_trusted_certificate for ssl_verify_client`);
  const depth = effectiveOne(server, 'ssl_verify_depth');
  if (depth) {
    const n = /^\d+$/.test(depth.args[0]!) ? Number(depth.args[0]) : NaN;
    if (!Number.isInteger(n) || n > 100) ctx.diag.error(depth, `invalid value "${depth.args[0]}" in "ssl_verify_depth" directive`);
    else if (n !== 1) out.depth = n;
  }
  return out;
}

/** Whether `ssl on` (the old spelling) makes every listen of the server TLS. */
export function sslOn(server: Scope): boolean {
  return effectiveOne(server, 'ssl')?.args[0]?.toLowerCase() === 'on';
}

function readable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function path(p: string, ctx: AdaptContext): string {
  return isAbsolute(p) ? p : join(ctx.confDir, p);
}
