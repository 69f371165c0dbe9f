/**
 * The header list sent upstream, built in one pass over the client's raw headers:
 *  - hop-by-hop headers and those named by `Connection` are dropped (RFC 9110 §7.6.1), but a
 *    client can only nominate its own end-to-end headers: what Portico writes itself (framing,
 *    Host, the forwarding headers, the route's `request_headers`) is added after that step;
 *  - the body's framing is never copied from the client: `Content-Length` is written last, from
 *    the length node's parser validated, or the body goes chunked (the upstream client adds
 *    `Transfer-Encoding`). "Connection: Content-Length" once made Portico send a body without
 *    its length, which the upstream then read as a second, unrouted request;
 *  - `Host` passes unchanged (Caddy's choice; Django's ALLOWED_HOSTS and CSRF need it),
 *    except that an absolute-form request's authority replaces it, as it did for routing;
 *  - X-Forwarded-* and Forwarded from a peer outside `trusted_proxies` are dropped and
 *    X-Forwarded-* written anew, so a client cannot spoof its address (ANCHORS §3.8); from a
 *    trusted peer the X-Forwarded-For chain is kept and the peer appended;
 *  - X-Real-IP is always Portico's own (the client address derived from the chain);
 *  - `Expect` is answered by Portico itself (node sends 100 Continue), not forwarded;
 *  - the route's `request_headers` edits apply last, so a config can override anything.
 * From HTTP/2 clients: pseudo-headers are dropped, `:authority` becomes Host, cookies split
 * into several fields are joined into one (RFC 9113 §8.2.3: HTTP/1.1 allows only one), and a
 * body without Content-Length (DATA frames) goes upstream chunked.
 */
import type { Exchange } from '../http/exchange.js';
import { appendHeaders, type HeaderOps } from '../http/header-ops.js';
import { connectionTokens, dropNamed } from './hop-by-hop.js';

const enum Kind {
  Pass,
  Drop,
  Connection,
  Forwarded,
  XForwardedFor,
  XForwardedProto,
  XForwardedHost,
  ContentLength,
  TransferEncoding,
  Host,
  Cookie,
}

const KINDS = new Map<string, Kind>([
  ['connection', Kind.Connection],
  ['keep-alive', Kind.Drop],
  ['proxy-connection', Kind.Drop],
  ['proxy-authorization', Kind.Drop],
  ['te', Kind.Drop],
  ['trailer', Kind.Drop],
  ['transfer-encoding', Kind.TransferEncoding],
  ['upgrade', Kind.Drop], // written below, filtered, for a tunnel only
  ['http2-settings', Kind.Drop],
  ['expect', Kind.Drop],
  // Always written anew below: a trusted proxy's copy would reach the upstream as a second
  // value ("9.9.9.9, 1.2.3.4"), and frameworks read the first one.
  ['x-real-ip', Kind.Drop],
  ['forwarded', Kind.Forwarded],
  ['x-forwarded-for', Kind.XForwardedFor],
  ['x-forwarded-proto', Kind.XForwardedProto],
  ['x-forwarded-host', Kind.XForwardedHost],
  ['content-length', Kind.ContentLength],
  ['host', Kind.Host],
  ['cookie', Kind.Cookie],
  [':method', Kind.Drop],
  [':path', Kind.Drop],
  [':scheme', Kind.Drop],
  [':authority', Kind.Drop],
  [':protocol', Kind.Drop],
]);

export interface UpstreamRequestHead {
  headers: string[];
  /** The request has a body to stream (Content-Length > 0 or chunked). */
  hasBody: boolean;
  /** The body has no Content-Length (it came chunked) and goes upstream chunked too. */
  chunked: boolean;
}

/**
 * @param upgrade the Upgrade value to send with `Connection: upgrade` (a tunnel's handshake,
 *   the protocols the route allows: upgrade-protocols.ts), or '': none, whatever the client sent.
 */
export function upstreamRequestHeaders(ex: Exchange, ops: HeaderOps, upgrade = ''): UpstreamRequestHead {
  const raw = ex.req.rawHeaders;
  const trusted = ex.peerTrusted;
  const out: string[] = [];
  let nominated: string[] | undefined;
  let xff = '';
  let xfp = '';
  let xfh = '';
  let fwd = '';
  let hasBody = false;
  let chunked = false;
  let sawHost = false;
  let sawLength = false;
  let cookieAt = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (ops.drop.size > 0 && ops.drop.has(lower)) continue;
    const kind = KINDS.get(lower);
    if (kind === undefined) {
      // Any other X-Forwarded-* (Port, Prefix, Server) is as spoofable as the rest.
      if (!trusted && lower.startsWith('x-forwarded-')) continue;
      out.push(name, value);
      continue;
    }
    switch (kind) {
      case Kind.Drop:
        break;
      case Kind.Connection:
        connectionTokens(value, (nominated ??= []));
        break;
      case Kind.Forwarded:
        if (trusted) fwd = fwd === '' ? value : `${fwd}, ${value}`;
        break;
      case Kind.XForwardedFor:
        if (trusted) xff = xff === '' ? value : `${xff}, ${value}`;
        break;
      case Kind.XForwardedProto:
        if (trusted) xfp = value;
        break;
      case Kind.XForwardedHost:
        if (trusted) xfh = value;
        break;
      case Kind.ContentLength:
        sawLength = true; // written below from ex.contentLength
        break;
      case Kind.TransferEncoding:
        hasBody = true; // node has de-chunked it; the upstream client re-chunks it
        chunked = true;
        break;
      case Kind.Host:
        // The Host routing used: the header itself, or the authority of an absolute-form
        // request ("GET http://a.example/ HTTP/1.1", RFC 9112 §3.2.2), which replaces it.
        if (!sawHost) out.push(name, ex.hostHeader);
        sawHost = true;
        break;
      case Kind.Cookie:
        if (cookieAt < 0) {
          cookieAt = out.length + 1;
          out.push(name, value);
        } else out[cookieAt] += '; ' + value;
        break;
    }
  }
  // HTTP/2: from :authority; unless the route replaces Host (request_headers.set/remove).
  if (!sawHost && ex.hostHeader !== '' && !ops.drop.has('host')) out.unshift('Host', ex.hostHeader);
  if (sawLength && !chunked && ex.contentLength > 0) hasBody = true;
  if (ex.dataFollows) {
    // DATA frames follow the HEADERS frame. Without content-length the body goes chunked; with
    // one (even "0") it is a body all the same: the stream must be seen to end with that length
    // before the upstream holds a complete request (limits/complete-body.ts).
    hasBody = true;
    if (!sawLength) chunked = true;
  }
  const headers = nominated ? dropNamed(out, nominated) : out;
  if (upgrade !== '') headers.push('Upgrade', upgrade, 'Connection', 'upgrade');
  if (fwd !== '') headers.push('Forwarded', fwd);
  headers.push(
    'X-Forwarded-For',
    xff === '' ? ex.peerIp : `${xff}, ${ex.peerIp}`,
    'X-Real-IP',
    ex.clientIp,
    'X-Forwarded-Proto',
    xfp === '' ? ex.scheme : xfp,
  );
  const host = xfh === '' ? ex.hostHeader : xfh;
  if (host !== '') headers.push('X-Forwarded-Host', host);
  // The route's `set`/`remove` also replace the forwarding headers computed above.
  const edited = ops.empty ? headers : ops.drop.size > 0 ? dropForwardingOverrides(headers, ops) : headers;
  if (!ops.empty) appendHeaders(ops, edited, ex);
  // Framing last, after every filter (request_headers cannot name it: see config/schema.ts).
  // A client's "Content-Length: 0" stays (a POST without a body); chunked gets its length
  // once buffered, or Transfer-Encoding from the upstream client.
  if (sawLength && !chunked) edited.push('Content-Length', String(ex.contentLength));
  return { headers: edited, hasBody, chunked };
}

const FORWARDING = ['x-forwarded-for', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-host'];

/** Which forwarding headers a route's ops replace: decided once per route, not per request. */
const overridden = new WeakMap<HeaderOps, readonly string[]>();

function dropForwardingOverrides(headers: string[], ops: HeaderOps): string[] {
  let names = overridden.get(ops);
  if (names === undefined) {
    names = FORWARDING.filter((n) => ops.drop.has(n));
    overridden.set(ops, names);
  }
  return names.length === 0 ? headers : dropNamed(headers, names);
}
