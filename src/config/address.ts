/**
 * Parsing of the two address forms the config uses: listen addresses (":8080",
 * "127.0.0.1:8080", "[::1]:8080", "8080") and upstream addresses ("127.0.0.1:8000",
 * "localhost:3000", "http://app:8000", "https://api.internal", "unix:/run/app.sock").
 */
export interface ListenAddress {
  /** undefined means every interface (IPv6 and IPv4 where the OS allows). */
  host: string | undefined;
  port: number;
}

export interface UpstreamAddress {
  /** http: plain TCP; https: TLS; unix: a unix-domain socket (gunicorn --bind unix:PATH). */
  scheme: 'http' | 'https' | 'unix';
  /** Host name or IP ('localhost' for unix sockets, which have none). */
  host: string;
  /** 0 for unix sockets. */
  port: number;
  /** Socket path of a unix address. */
  path?: string;
  /**
   * How the address is written in logs and keyed in registries: "127.0.0.1:8000",
   * "https://api.example.com:443", "unix:/run/gunicorn.sock".
   */
  key: string;
}

const PORT = /^\d{1,5}$/;

function parsePort(text: string, allowZero: boolean): number | undefined {
  if (!PORT.test(text)) return undefined;
  const port = Number(text);
  if (port > 65535 || (port === 0 && !allowZero)) return undefined;
  return port;
}

/** Splits "host:port", "[v6]:port" or ":port"; host is '' when absent. */
function splitHostPort(text: string): { host: string; port: string } | undefined {
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || text[end + 1] !== ':') return undefined;
    return { host: text.slice(1, end), port: text.slice(end + 2) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return undefined;
  const host = text.slice(0, colon);
  if (host.includes(':')) return undefined; // bare IPv6 needs brackets
  return { host, port: text.slice(colon + 1) };
}

export function parseListen(text: string): ListenAddress | undefined {
  if (PORT.test(text)) {
    const port = parsePort(text, true);
    return port === undefined ? undefined : { host: undefined, port };
  }
  const parts = splitHostPort(text);
  if (!parts) return undefined;
  const port = parsePort(parts.port, true);
  if (port === undefined) return undefined;
  return { host: parts.host === '' || parts.host === '*' ? undefined : parts.host, port };
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * An upstream server: "host:port" or "http://host[:port]" (plain HTTP, port 80 by default),
 * "https://host[:port]" (TLS, port 443 by default), or "unix:/path/to.sock" (nginx's spelling; Caddy's
 * "unix//path" is accepted too). A trailing "/" is allowed; any other path is not, since
 * upstreams carry no path (as in Caddy).
 */
export function parseUpstream(text: string): UpstreamAddress | undefined {
  if (text.startsWith('unix:') || text.startsWith('unix//')) {
    const path = text.slice(5); // after "unix:" or "unix/"
    if (!path.startsWith('/') || path.length < 2 || path.includes('\0')) return undefined;
    return { scheme: 'unix', host: 'localhost', port: 0, path, key: `unix:${path}` };
  }
  let rest = text;
  let scheme: 'http' | 'https' = 'http';
  let defaultPort = '';
  if (rest.startsWith('http://')) {
    rest = rest.slice(7);
    defaultPort = ':80';
  } else if (rest.startsWith('https://')) {
    rest = rest.slice(8);
    scheme = 'https';
    defaultPort = ':443';
  }
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const hasPort = rest.startsWith('[') ? rest.includes(']:') : rest.includes(':');
  if (!hasPort) rest += defaultPort; // a bare host needs its port; a URL has a default
  const parts = splitHostPort(rest);
  if (!parts || parts.host === '') return undefined;
  const port = parsePort(parts.port, false);
  if (port === undefined) return undefined;
  const v6 = rest.startsWith('[');
  if (!v6 && !HOSTNAME.test(parts.host)) return undefined;
  const hostPort = v6 ? `[${parts.host}]:${port}` : `${parts.host}:${port}`;
  return { scheme, host: parts.host, port, key: scheme === 'https' ? `https://${hostPort}` : hostPort };
}
