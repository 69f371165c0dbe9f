/**
 * Caddy placeholders (https://caddyserver.com/docs/caddyfile/concepts#placeholders) -> Portico's.
 * The short forms Portico shares ({host}, {uri}, {path}, {query}, {scheme}, {method},
 * {remote_host}, {client_ip}, {header.X}, {re.name.1}) and their long `{http.request.*}`
 * spellings map directly; {upstream_hostport} is known when the route has one upstream.
 */
export type Converted = { ok: true; template: string } | { ok: false; unsupported: string };

const DIRECT: Record<string, string> = {
  host: '{host}',
  hostport: '{hostport}',
  uri: '{uri}',
  path: '{path}',
  query: '{query}',
  scheme: '{scheme}',
  method: '{method}',
  remote_host: '{remote_ip}',
  remote: '{remote_ip}',
  client_ip: '{client_ip}',
  'http.request.host': '{host}',
  'http.request.hostport': '{hostport}',
  'http.request.uri': '{uri}',
  'http.request.uri.path': '{path}',
  'http.request.uri.query': '{query}',
  'http.request.scheme': '{scheme}',
  'http.request.method': '{method}',
  'http.request.remote.host': '{remote_ip}',
  'http.vars.client_ip': '{client_ip}',
};

export function convertPlaceholders(text: string, constants: ReadonlyMap<string, string> = new Map()): Converted {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(/\{([^{}\s]+)\}/g)) {
    out += text.slice(last, m.index);
    last = m.index + m[0].length;
    const name = m[1]!;
    const one = convertOne(name, constants);
    if (one === undefined) return { ok: false, unsupported: `{${name}}` };
    out += one;
  }
  return { ok: true, template: out + text.slice(last) };
}

function convertOne(name: string, constants: ReadonlyMap<string, string>): string | undefined {
  const constant = constants.get(name);
  if (constant !== undefined) return constant;
  const direct = DIRECT[name];
  if (direct) return direct;
  const header = /^(?:http\.request\.)?header\.(.+)$/.exec(name);
  if (header) return `{header.${header[1]}}`;
  // {re.name.1} / {http.regexp.name.1}: a capture of a path_regexp matcher.
  const re = /^(?:http\.)?re(?:gexp)?\.(?:[A-Za-z_]\w*\.)?(\w+)$/.exec(name);
  if (re) return `{re.${re[1]}}`;
  return undefined;
}
