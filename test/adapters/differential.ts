/**
 * Side-by-side observation for the nginx differential tests: the same request to nginx and to
 * Portico, both in front of one echo upstream; what the client got (status, chosen headers,
 * small bodies) and what the upstream saw (method, URL, headers) are compared. A case may list
 * deliberate differences: each states both values and why, is asserted exactly, and is then
 * taken out of the comparison.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rawRequest, type RawResponse } from '../proxy/support.js';
import type { SeenRequest } from '../helpers/upstream.js';

export interface Case {
  name: string;
  method?: string;
  path: string;
  /** Host header; default example.test. */
  host?: string;
  headers?: [string, string][];
  body?: string;
  /** Extra response headers to compare. */
  compare?: string[];
  /** Deliberate differences, asserted exactly. */
  differs?: Difference[];
  /** The request's HTTP version; 1.1 by default. */
  version?: '1.0' | '1.1';
}

export interface Difference {
  /** "status", "body", "upstream.url", "upstream.header.NAME", "header.NAME" */
  field: string;
  /** The reference server's value (nginx's, or Caddy's in the Caddy test). */
  nginx?: string | number | undefined;
  caddy?: string | number | undefined;
  portico: string | number | undefined;
  why: string;
}

export interface Observed {
  status: number;
  body: string | undefined;
  headers: Record<string, string>;
  upstream: { method: string; url: string; headers: Record<string, string> } | undefined;
}

/** Response headers compared for every case (others vary by server: Date, Server, Content-Length...). */
const RESPONSE_HEADERS = ['content-type', 'location', 'x-server', 'x-own', 'x-upstream', 'cache-control'];

/** Headers Portico sends upstream on its own (docs/differences.md); compared only when nginx was told to send them too. */
const PORTICO_OWN = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip'];

/**
 * The echo upstream: JSON of what it saw; `?status=NNN` answers that status, `?location=URL`
 * adds a Location, and every answer carries `X-Upstream: yes`.
 */
export function echo(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const url = new URL(req.url!, 'http://x');
  const status = Number(url.searchParams.get('status') ?? 200);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('X-Upstream', 'yes');
  const location = url.searchParams.get('location');
  if (location) res.setHeader('Location', location);
  res.end(JSON.stringify({ url: req.url, bodyLength: body.length }));
}

/** `seen`: the upstream's record (or a function gathering several upstreams' records). */
export async function observe(port: number, c: Case, tag: string, seen: SeenRequest[] | (() => SeenRequest[])): Promise<Observed> {
  const host = c.host ?? 'example.test';
  const lines = [`${c.method ?? 'GET'} ${c.path} HTTP/${c.version ?? '1.1'}`, `Host: ${host}`, `X-Case: ${tag}`, 'Connection: close'];
  for (const [n, v] of c.headers ?? []) lines.push(`${n}: ${v}`);
  if (c.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(c.body)}`);
  const res: RawResponse = await rawRequest(port, `${lines.join('\r\n')}\r\n\r\n${c.body ?? ''}`, { head: c.method === 'HEAD' });
  const headers: Record<string, string> = {};
  for (const name of [...RESPONSE_HEADERS, ...(c.compare ?? [])]) {
    const values = res.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
    if (values.length > 0) headers[name] = normalize(values.join(', '), port);
  }
  // Pages a server makes itself for redirects and errors differ on purpose (nginx's HTML,
  // Portico's plain text or nothing; docs/differences.md): their type and body are not compared.
  const own = headers['x-upstream'] === undefined;
  if (res.status >= 300 && own) delete headers['content-type'];
  const hit = (typeof seen === 'function' ? seen() : seen).find((s) => s.headers['x-case'] === tag);
  const upstream = hit && {
    method: hit.method,
    url: hit.url,
    headers: Object.fromEntries(
      Object.entries(hit.headers)
        .filter(([n]) => n !== 'x-case' && n !== 'connection')
        .map(([n, v]) => [n, normalize(Array.isArray(v) ? v.join(', ') : (v ?? ''), port)]),
    ),
  };
  const body = hit || res.status >= 300 ? undefined : res.body.toString();
  return { status: res.status, body, headers, upstream };
}

/** The server's own port is written as {PORT}; an absolute Location to the server itself becomes relative. */
function normalize(value: string, port: number): string {
  return value.replace(new RegExp(`^http://[^/]+:${port}(?=/|$)`), '').replaceAll(String(port), '{PORT}');
}

/** Asserts the reference server (nginx or Caddy) and Portico behaved the same, apart from the case's stated differences. */
export function assertSame(c: Case, nginx: Observed, portico: Observed): void {
  const n = structuredClone(nginx);
  const p = structuredClone(portico);
  for (const d of c.differs ?? []) {
    assert.equal(read(n, d.field), 'caddy' in d ? d.caddy : d.nginx, `${c.name}: the reference server's ${d.field}`);
    assert.equal(read(p, d.field), d.portico, `${c.name}: Portico's ${d.field} (differs on purpose: ${d.why})`);
    write(n, d.field, undefined);
    write(p, d.field, undefined);
  }
  if (n.upstream && p.upstream) {
    for (const name of PORTICO_OWN) if (n.upstream.headers[name] === undefined) delete p.upstream.headers[name];
  }
  assert.deepEqual(p, n, `${c.name}: Portico (actual) vs the reference server (expected)`);
}

function read(o: Observed, field: string): string | number | undefined {
  if (field === 'status') return o.status;
  if (field === 'body') return o.body;
  if (field === 'upstream.url') return o.upstream?.url;
  if (field.startsWith('upstream.header.')) return o.upstream?.headers[field.slice(16)];
  if (field.startsWith('header.')) return o.headers[field.slice(7)];
  throw new Error(`unknown field ${field}`);
}

function write(o: Observed, field: string, value: undefined): void {
  if (field === 'status') o.status = 0;
  else if (field === 'body') o.body = value;
  else if (field === 'upstream.url') {
    if (o.upstream) o.upstream.url = '';
  } else if (field.startsWith('upstream.header.')) {
    if (o.upstream) delete o.upstream.headers[field.slice(16)];
  } else if (field.startsWith('header.')) delete o.headers[field.slice(7)];
}
