/**
 * Which protocols an Upgrade request may switch to through a tunnel (RFC 9110 §7.8). After a
 * 101 Portico only copies bytes, so whatever the client speaks next reaches the upstream past
 * every route rule: an "Upgrade: h2c" tunnel lets it send any number of HTTP/2 requests for
 * any path straight to the app. So a route tunnels only what it lists (`proxy.upgrade`,
 * default websocket; h2c never); the Upgrade header is cut down to those, and a 101 that names
 * anything else is refused. nginx tunnels whatever it passes in `proxy_set_header Upgrade`.
 */

/** Lower-cased protocol names of an Upgrade value ("WebSocket, foo/2" -> ["websocket", "foo"]). */
function names(value: string): string[] {
  const out: string[] = [];
  for (const item of value.split(',')) {
    const token = item.trim();
    if (token === '') continue;
    const slash = token.indexOf('/');
    out.push((slash < 0 ? token : token.slice(0, slash)).toLowerCase());
  }
  return out;
}

/** The allowed set of a route, compiled once: lower-cased names. */
export function upgradeSet(protocols: readonly string[]): ReadonlySet<string> {
  return new Set(protocols.map((p) => p.toLowerCase()));
}

/**
 * The Upgrade value offered upstream: the client's protocols that `allowed` lists, in the
 * client's order (and as it wrote them); '' when there is none, or the request has no Upgrade.
 */
export function offeredUpgrade(value: string | string[] | undefined, allowed: ReadonlySet<string> | undefined): string {
  if (value === undefined || allowed === undefined || allowed.size === 0) return '';
  const joined = Array.isArray(value) ? value.join(',') : value;
  const kept: string[] = [];
  for (const item of joined.split(',')) {
    const token = item.trim();
    if (token !== '' && allowed.has(names(token)[0]!)) kept.push(token);
  }
  return kept.join(', ');
}

/** Whether the upstream's 101 switched only to protocols that were offered (RFC 9110 §7.8). */
export function acceptedUpgrade(answer: string | undefined, offered: string): boolean {
  if (answer === undefined) return false;
  const chosen = names(answer);
  const allowed = names(offered);
  return chosen.length > 0 && chosen.every((p) => allowed.includes(p));
}

/**
 * Whether a request can become a tunnel at all: it carries no body (a tunnel copies bytes only
 * after the 101, so a body would be left unsent and the upstream would wait for it), and a
 * WebSocket handshake is a GET (RFC 6455 §4.1). Anything else is served as a plain request.
 */
export function tunnelable(method: string | undefined, headers: { 'content-length'?: string; 'transfer-encoding'?: string }): boolean {
  if (headers['transfer-encoding'] !== undefined) return false;
  const length = headers['content-length'];
  if (length !== undefined && length !== '0') return false;
  return method === 'GET';
}
