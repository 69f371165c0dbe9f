/** Helpers for admin tests: Portico with its admin listener on 127.0.0.1:0, scrapes and changes. */
import { request } from 'node:http';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';
import type { StartOptions } from '../../src/server/server.js';

export interface AdminPortico extends TestPortico {
  /** "127.0.0.1:PORT" of the admin listener. */
  admin: string;
}

/** In-process Portico with the admin API on a free loopback port (PORTICO_ADMIN from the suite's env is set aside). */
export async function startAdminPortico(input: PorticoConfigInput, options: Pick<StartOptions, 'now' | 'upstream'> = {}): Promise<AdminPortico> {
  delete process.env.PORTICO_ADMIN;
  const p = await startPortico({ admin: { listen: '127.0.0.1:0' }, ...input }, options);
  const admin = p.server.admin;
  if (!admin) throw new Error('admin listener did not start');
  return { ...p, admin: admin.address };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function adminRequest(address: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path, headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function setServerState(admin: string, pool: string, address: string, state: string): Promise<Reply> {
  return adminRequest(admin, 'POST', `/upstreams/${encodeURIComponent(pool)}/servers/${encodeURIComponent(address)}`, JSON.stringify({ state }));
}

/** /metrics as a map from `name{labels}` (labels as written) to value. */
export async function scrape(admin: string): Promise<Map<string, number>> {
  const r = await adminRequest(admin, 'GET', '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body}`);
  return parseMetrics(r.body);
}

export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The sum of every series of `name` whose labels contain all of `match` (label="value" pairs). */
export function total(metrics: Map<string, number>, name: string, match: Record<string, string> = {}): number {
  let n = 0;
  for (const [key, value] of metrics) {
    const brace = key.indexOf('{');
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(match).every(([k, v]) => key.includes(`${k}="${v}"`))) n += value;
  }
  return n;
}

/** GET on Portico, body read; many at once with a bound on concurrency. */
export async function getMany(url: string, count: number, concurrency = 16, init?: RequestInit): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const r = await fetch(url, init);
        await r.arrayBuffer();
        statuses.push(r.status);
      }
    }),
  );
  return statuses;
}
