/** Test support for the response cache: an origin whose answers a test sets, and Portico with a cache in front of it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startPortico, type TestPortico } from '../helpers/portico.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';
import { http, type HttpResult } from '../proxy/support.js';

export type Answer = (req: IncomingMessage, res: ServerResponse, n: number) => void;

export interface Origin extends TestUpstream {
  /** What the next requests get; (req, res, n): n counts requests from 1. */
  answer: Answer;
  /** Requests seen for `url` (path and query). */
  count(url: string): number;
}

export async function startOrigin(answer: Answer): Promise<Origin> {
  let n = 0;
  const origin = (await startUpstream((req, res) => origin.answer(req, res, ++n))) as Origin;
  origin.answer = answer;
  origin.count = (url) => origin.seen.filter((r) => r.url === url).length;
  return origin;
}

/** 200 with a body naming the request's path and sequence number, and `headers`. */
export function answerWith(headers: Record<string, string | string[]>, status = 200): Answer {
  return (req, res, n) => {
    const body = `${req.url} #${n}`;
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

export interface CachedPortico extends TestPortico {
  dataDir: string;
  get(path: string, headers?: Record<string, string>, method?: string): Promise<HttpResult>;
}

/** Portico with one zone `main` and one proxied route with `cache` in front of `origin`. */
export async function startCached(
  origin: string,
  cache: Record<string, unknown> = {},
  extra: { zone?: Record<string, unknown>; route?: Record<string, unknown>; config?: Partial<PorticoConfigInput>; dataDir?: string } = {},
): Promise<CachedPortico> {
  const dataDir = extra.dataDir ?? mkdtempSync(join(tmpdir(), 'portico-cache-'));
  const p = (await startPortico({
    data_dir: dataDir,
    cache: { main: { ...extra.zone } },
    ...extra.config,
    servers: [{ routes: [{ path: '/', proxy: { to: origin }, cache: { zone: 'main', status_header: 'X-Cache-Status', ...cache }, ...extra.route }] }],
  } as PorticoConfigInput)) as CachedPortico;
  p.dataDir = dataDir;
  p.get = (path, headers = {}, method = 'GET') => http(`${p.url}${path}`, { method, headers });
  const close = p.close;
  p.close = async () => {
    await close();
    if (extra.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  };
  return p;
}

export function status(r: HttpResult): string | undefined {
  const v = r.headers['x-cache-status'];
  return Array.isArray(v) ? v.join(',') : v;
}

export const text = (r: HttpResult): string => r.body.toString();
