/**
 * How a connection to one upstream server is opened, decided when the config is compiled:
 * TCP (`host:port`), TLS (`https://host`, verified by default) or a unix socket
 * (`unix:/path.sock`). The HTTP client, the WebSocket tunnel and the health checker all dial
 * through it, so they reach the server the same way.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import type { UpstreamAddress } from '../config/address.js';
import { systemTrust } from './trust-store.js';

/** TLS settings of a pool, as compiled (the CA file already read). */
export interface UpstreamTls {
  /** PEM text of the trusted CAs; undefined: the system store. */
  ca?: string;
  /** Name sent in SNI and checked against the certificate; default: the server's host (not for IPs). */
  serverName?: string;
  /** Accept any certificate. Only for an explicit `insecure_skip_verify: true`. */
  insecureSkipVerify: boolean;
  /** Identifies these settings in registry keys ("ca=<file>|sni=x|insecure"). */
  id: string;
}

export interface Transport {
  /** Registry key: the address, plus the TLS identity for https. */
  readonly key: string;
  /** The address as logged ("127.0.0.1:8000", "https://api:443", "unix:/run/app.sock"). */
  readonly address: string;
  /** Event after which the socket can carry a request. */
  readonly ready: 'connect' | 'secureConnect';
  /** A Host header value for requests Portico makes itself (health checks). */
  readonly authority: string;
  dial(): Socket;
}

const contexts = new Map<string, SecureContext>();

function secureContext(ca: string | undefined): SecureContext {
  const key = ca ?? '<system>';
  let ctx = contexts.get(key);
  if (!ctx) {
    // Built once: parsing a few hundred root certificates per connection would dominate.
    ctx = createSecureContext({ ca: ca ?? systemTrust() });
    contexts.set(key, ctx);
  }
  return ctx;
}

/**
 * @param port overrides the address's port (health checks on a separate port).
 */
export function transportFor(address: UpstreamAddress, tls: UpstreamTls | undefined, port = address.port): Transport {
  if (address.scheme === 'unix') {
    const path = address.path!;
    return { key: address.key, address: address.key, ready: 'connect', authority: 'localhost', dial: () => netConnect({ path }) };
  }
  const host = address.host;
  const hostPort = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  if (address.scheme === 'http') {
    return { key: hostPort, address: hostPort, ready: 'connect', authority: hostPort, dial: () => netConnect({ host, port, noDelay: true }) };
  }
  const settings: UpstreamTls = tls ?? { insecureSkipVerify: false, id: 'system' };
  const servername = settings.serverName ?? (isIP(host) === 0 ? host : undefined);
  const options = {
    host,
    port,
    servername,
    secureContext: secureContext(settings.ca),
    rejectUnauthorized: !settings.insecureSkipVerify,
    ALPNProtocols: ['http/1.1'],
  };
  const address_ = `https://${hostPort}`;
  return {
    key: `${address_}|${settings.id}`,
    address: address_,
    ready: 'secureConnect',
    authority: port === 443 ? (host.includes(':') ? `[${host}]` : host) : hostPort,
    dial: () => {
      const socket = tlsConnect(options);
      socket.setNoDelay(true);
      return socket;
    },
  };
}
