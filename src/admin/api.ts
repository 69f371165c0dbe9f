/**
 * The admin API (Caddy's admin endpoint, nginx Plus's API and HAProxy's runtime API are the
 * models):
 *   GET  /                 the live dashboard (dashboard/page.ts)
 *   GET  /events           its server-sent events (events.ts)
 *   GET  /metrics          Prometheus text format
 *   GET  /status           JSON for scripts
 *   POST /upstreams/NAME/servers/ADDR   {"state": "up" | "draining" | "disabled"}
 *   POST /reload           read the config file again (SIGHUP's rules and errors)
 * Every change is logged with who asked. Guards, since a page in the operator's own browser
 * can send requests to 127.0.0.1 too: a loopback listener answers only requests whose Host is
 * a loopback name (a DNS-rebinding page has its own name there), and a change needs a JSON
 * body and, if the request has an Origin, the listener's own (a cross-site form or fetch
 * cannot send one without a CORS preflight, which is never granted).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { CidrMatcher } from '../http/cidr.js';
import { normalizeIp } from '../http/cidr.js';
import type { ErrorLog } from '../log/error-log.js';
import { ADMIN_STATES, type AdminState } from '../upstream/host-state.js';
import type { AdminBackend } from './backend.js';
import type { EventHub } from './events.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard/page.js';
import { statusDocument } from './status.js';

export interface ApiDeps {
  backend: AdminBackend;
  events: EventHub;
  log: ErrorLog;
  /** Who may use a non-loopback listener; undefined: loopback or unix socket, Host checked instead. */
  allow: CidrMatcher | undefined;
  /** A loopback TCP listener: Host must name a loopback address. */
  checkHost: boolean;
}

const MAX_BODY = 4096;
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;

export function adminApi(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { backend, events, log } = deps;
  return (req, res) => {
    const peer = req.socket.remoteAddress === undefined ? 'unix socket' : normalizeIp(req.socket.remoteAddress);
    if (deps.allow && !deps.allow.has(peer)) return json(res, 403, { error: `${peer} is not in admin.allow` });
    const host = req.headers.host ?? '';
    if (deps.checkHost && !LOOPBACK_HOST.test(host)) return json(res, 403, { error: 'the admin API answers only to a loopback host name (localhost, 127.0.0.1, [::1])' });
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const who = { by: peer === 'unix socket' ? peer : `${peer}:${req.socket.remotePort}`, user_agent: req.headers['user-agent'] };
    const route = (method: string, handler: () => void | Promise<void>): void => {
      if (req.method !== method && !(method === 'GET' && req.method === 'HEAD')) {
        res.setHeader('Allow', method === 'GET' ? 'GET, HEAD' : method);
        return json(res, 405, { error: `${path} takes ${method}` });
      }
      Promise.resolve()
        .then(handler)
        .catch((err: Error) => {
          log.error('admin request failed', { path, err: err.stack });
          if (!res.headersSent) json(res, 500, { error: err.message });
          else res.destroy();
        });
    };
    if (path === '/' || path === '/index.html')
      return route('GET', () => {
        res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
        res.setHeader('X-Frame-Options', 'DENY');
        send(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML);
      });
    if (path === '/events') return route('GET', () => events.open(req, res));
    if (path === '/metrics')
      return route('GET', async () => {
        const m = await backend.metrics();
        send(res, 200, m.contentType, m.text);
      });
    if (path === '/status') return route('GET', async () => json(res, 200, statusDocument(await backend.stats(), backend.info())));
    if (path === '/reload')
      return route('POST', async () => {
        if ((await changeBody(req, res)) === undefined) return;
        const outcome = await backend.reload();
        if (outcome.ok) log.info('config reloaded through the admin API', { ...who, file: backend.info().configFile });
        else log.error('config not reloaded (admin API); still serving the previous one', { ...who, problems: outcome.problems });
        json(res, outcome.ok ? 200 : 400, outcome);
      });
    const m = /^\/upstreams\/([^/]+)\/servers\/([^/]+)$/.exec(path);
    if (m)
      return route('POST', async () => {
        const body = await changeBody(req, res);
        if (body === undefined) return;
        const state = (body as { state?: unknown }).state;
        if (typeof state !== 'string' || !ADMIN_STATES.includes(state as AdminState))
          return json(res, 400, { error: `expected {"state": "${ADMIN_STATES.join('" | "')}"}` });
        const pool = decode(m[1]!);
        const address = decode(m[2]!);
        const raw = await backend.stats();
        const found = raw.pools.find((p) => p.name === pool);
        if (!found) return json(res, 404, { error: `no upstream pool named ${JSON.stringify(pool)}`, pools: raw.pools.map((p) => p.name) });
        if (!found.servers.some((s) => s.address === address))
          return json(res, 404, { error: `pool ${pool} has no server ${JSON.stringify(address)}`, servers: found.servers.map((s) => s.address) });
        await backend.setServerState(address, state as AdminState);
        log.info('upstream server state changed through the admin API', { ...who, pool, upstream: address, state });
        json(res, 200, { pool, server: address, state, note: 'the state belongs to the address: every pool listing it follows it' });
      });
    if (path === '/upstreams') return route('GET', async () => json(res, 200, (await backend.stats()).pools));
    json(res, 404, { error: `no such admin endpoint: ${path}`, endpoints: ['/', '/events', '/metrics', '/status', '/upstreams', 'POST /upstreams/NAME/servers/ADDR', 'POST /reload'] });
  };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * The JSON body of a change, or undefined after answering: a change needs Content-Type
 * application/json and, when the request has an Origin, the listener's own.
 */
async function changeBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) {
    json(res, 403, { error: `a change from another origin (${origin}) is refused` });
    return undefined;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    json(res, 415, { error: 'a change needs Content-Type: application/json' });
    return undefined;
  }
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > MAX_BODY) {
      json(res, 413, { error: `body larger than ${MAX_BODY} bytes` });
      return undefined;
    }
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    json(res, 400, { error: 'the body is not JSON' });
    return undefined;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value, null, 2) + '\n');
}

let cachedVersion: string | undefined;

/** Portico's version, from its package.json. */
export function porticoVersion(): string {
  if (cachedVersion === undefined) {
    try {
      cachedVersion = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}
