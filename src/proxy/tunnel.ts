/**
 * WebSocket (and the other Upgrade protocols a route lists: upgrade-protocols.ts) proxying:
 * the handshake is forwarded with the same header rules as any request, the upstream's 101
 * (to a protocol that was offered) goes back to the client, and from then on
 * bytes are tunnelled both ways. Every answer to the client (the 101, a refusal, an upstream
 * that declined) goes through the exchange's writer, bound to the raw socket
 * (src/http/socket-writer.ts) and wrapped by the route's filters. Both legs are destroyed as soon as either side closes or
 * errors (node-http-proxy#1510 leaked them with end()), and tunnels have no idle timeout:
 * Streamlit and Vite keep theirs open for hours (nginx's 60s proxy_read_timeout kills them).
 */
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import type { ErrorLog } from '../log/error-log.js';
import { clientResponseHeaders } from './response-headers.js';
import { classifyUpstreamError } from './upstream-error.js';
import { checkRequest, type HeadError } from '../http/head.js';
import type { Transport } from '../upstream/transport.js';
import { acceptedUpgrade } from './upgrade-protocols.js';

export interface TunnelTarget {
  /** How the upstream is reached (TCP, TLS or unix socket). */
  readonly transport: Transport;
  readonly address: string;
  readonly readTimeout: number;
  readonly log: ErrorLog;
}

/** @param offered the Upgrade value sent (the protocols the route allows); a 101 to another is a 502. */
export function tunnel(ex: Exchange, client: Duplex, head: Buffer, target: TunnelTarget, path: string, headers: string[], offered: string): void {
  ex.upstream = target.address;
  const transport = target.transport;
  try {
    // node's client would throw on a head it refuses; the serializer's rules say so first.
    checkRequest(ex.req.method ?? '', path, headers);
  } catch (err) {
    return refused(ex, target, 500, err as HeadError);
  }
  const upstreamReq = request({
    createConnection: () => transport.dial(),
    method: ex.req.method,
    path,
    headers,
    setHost: false,
    // No `agent`: with one, node ignores createConnection (agent: false makes a new Agent).
  });
  let settled = false;
  const fail = (cause: string, status: number) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    target.log.upstreamFailure(ex, cause, status);
    upstreamReq.destroy();
    refuseUpgrade(ex, status);
  };
  // One deadline covers connect and the handshake answer, as read_timeout does for requests.
  const timer = setTimeout(() => fail('upstream did not answer the upgrade within read_timeout', 504), target.readTimeout);
  timer.unref();
  client.on('error', () => upstreamReq.destroy());
  client.once('close', () => {
    settled = true;
    clearTimeout(timer);
    // Also stops relaying a refusal nobody reads any more (after an upgrade splice() owns both).
    upstreamReq.destroy();
  });
  upstreamReq.on('error', (err) => {
    const failure = classifyUpstreamError(err);
    fail(failure.cause, failure.status);
  });

  upstreamReq.on('response', (res: IncomingMessage) => {
    // The upstream declined the upgrade (403, 404, ...): relay it as a plain response.
    if (settled) return void res.destroy();
    settled = true;
    clearTimeout(timer);
    const status = res.statusCode ?? 502;
    // The connection ends with this response (a chunked body arrives de-chunked and is then
    // delimited by the close): the socket's writer says `Connection: close`.
    try {
      ex.writer.writeHead(status, res.statusMessage ?? '', clientResponseHeaders(res.rawHeaders, status));
    } catch (err) {
      res.destroy();
      return refused(ex, target, 502, err as HeadError);
    }
    res.on('data', (chunk: Buffer) => ex.writer.write(chunk));
    res.on('end', () => ex.writer.end());
    res.on('error', () => client.destroy());
  });

  upstreamReq.on('upgrade', (res: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
    if (settled) return void upstream.destroy();
    if (!acceptedUpgrade(res.headers.upgrade, offered)) {
      upstream.destroy();
      return fail(`upstream switched to a protocol that was not offered (${res.headers.upgrade ?? 'no Upgrade header'})`, 502);
    }
    settled = true;
    clearTimeout(timer);
    // Upgrade and Connection are hop-by-hop but are the handshake itself: keep them.
    const headers = clientResponseHeaders(res.rawHeaders, 101);
    headers.push('Connection', 'Upgrade', 'Upgrade', res.headers.upgrade ?? 'websocket');
    try {
      ex.writer.writeHead(101, res.statusMessage ?? '', headers);
    } catch (err) {
      upstream.destroy();
      return refused(ex, target, 502, err as HeadError);
    }
    if (upstreamHead.length > 0) client.write(upstreamHead);
    splice(client, upstream);
  });

  if (head.length > 0) client.unshift(head);
  upstreamReq.end();
}

/**
 * Answers an upgrade request that cannot be tunnelled (no upstream available, the upstream
 * failed) with an empty body, and closes. A head the route's filters make invalid ends the
 * connection unanswered (one log line).
 */
export function refuseUpgrade(ex: Exchange, status: number): void {
  try {
    ex.writer.writeHead(status, '', ['Content-Length', '0']);
  } catch (err) {
    ex.errorLog?.error('response head refused', { route: ex.routeName, status, method: ex.req.method, uri: ex.req.url, err: (err as Error)?.message });
    return ex.writer.destroy();
  }
  ex.writer.end();
}

/** A head the serializer refused (request to the upstream, or the answer to the client): one line, a plain error, closed. */
function refused(ex: Exchange, target: TunnelTarget, status: number, err: HeadError): void {
  target.log.error('upgrade head refused', { route: ex.routeName, status, method: ex.req.method, uri: ex.req.url, err: err?.message });
  refuseUpgrade(ex, status);
}

/**
 * Tunnels bytes both ways with backpressure. The server that handed the client socket over
 * keeps it among its open upgrades (server/dispatch.ts) and destroys it when it stops. When one side ends (sends FIN), the other gets
 * what is still buffered for it and then a FIN; once that went out both sockets are
 * destroyed. WebSocket has no half-close, and Portico's client sockets allow half-open
 * connections (node's http server does), so without this a client that went away would leave
 * the upstream socket open forever (node-http-proxy#1510 leaked them the same way). A reset,
 * an error or a socket destroyed without an orderly end destroys both at once.
 */
function splice(client: Duplex, upstream: Socket): void {
  for (const s of [client, upstream] as (Duplex & Partial<Socket>)[]) {
    s.setTimeout?.(0);
    s.setNoDelay?.(true);
    s.setKeepAlive?.(true, 30_000); // notice peers that vanished without a FIN
  }
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  link(client, upstream, destroyBoth);
  link(upstream, client, destroyBoth);
}

function link(from: Duplex, to: Duplex, destroyBoth: () => void): void {
  from.on('error', destroyBoth);
  from.once('close', () => {
    if (!from.readableEnded) destroyBoth();
  });
  to.once('finish', destroyBoth); // the FIN pipe() sent after `from` ended is out
  from.pipe(to);
}
