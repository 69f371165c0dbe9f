/**
 * A route's `match` conditions compiled once into one predicate over the request; every
 * condition given must hold. The semantics are Caddy's request matchers
 * (modules/caddyhttp/matchers.go; https://caddyserver.com/docs/caddyfile/matchers):
 *  - remote_ip / not_remote_ip test the client address the dispatcher derived (ex.clientIp: the
 *    TCP peer, or behind the server's trusted_proxies the forwarded client), Caddy's client_ip;
 *  - method: one of the listed, case-sensitive; host: the Host without its port, ignoring case,
 *    "*" one label; protocol: the connection's scheme, the HTTP version, or a gRPC content type;
 *  - header: per field, any value (one field line each, as Go keeps them) matching one pattern
 *    ("*" any, "*x*" contains, "*x" suffix, "x*" prefix, else equal); [] present; null absent;
 *  - query: parsed as Go's url.ParseQuery (a ";" or a bad %-escape makes the query unparsable,
 *    and then nothing matches), each key present with one of the values ("*" any);
 *  - path: route-path syntax on the normalized path; vars: a placeholder's expansion;
 *  - not / any / all over nested sets.
 * Everything is decided here, once: a request only runs the closures.
 */
import { matchRegex, type RouteMatchConfig } from '../config/match-schema.js';
import type { Exchange } from '../http/exchange.js';
import { cidrMatcher } from '../http/cidr.js';
import { hostWithoutPort } from '../http/host.js';
import { compileSafeRegex } from '../regex/safe-regex.js';
import { compileTemplate } from '../http/template.js';
import { parseLocation } from '../config/location-syntax.js';
import type { Condition } from './location-table.js';

type Test = Condition<Exchange>;

export function compileRouteMatch(cfg: RouteMatchConfig | undefined): Test | null {
  if (cfg === undefined) return null;
  return compileSet(cfg);
}

function compileSet(cfg: RouteMatchConfig): Test {
  const tests: Test[] = [];
  if (cfg.remote_ip || cfg.not_remote_ip) tests.push(remoteIp(cfg.remote_ip, cfg.not_remote_ip));
  if (cfg.method) {
    const methods = new Set(cfg.method);
    tests.push((ex) => methods.has(ex.req.method ?? ''));
  }
  if (cfg.host) tests.push(host(cfg.host));
  if (cfg.protocol) tests.push(protocol(cfg.protocol));
  for (const [field, values] of Object.entries(cfg.header ?? {})) tests.push(header(field.toLowerCase(), values));
  for (const [field, source] of Object.entries(cfg.header_regexp ?? {})) {
    const regex = safe(source);
    const name = field.toLowerCase();
    tests.push((ex) => fieldValues(ex, name)?.some((v) => test(regex, v)) === true);
  }
  if (cfg.query) tests.push(query(cfg.query));
  if (cfg.path) tests.push(paths(cfg.path));
  for (const [placeholder, values] of Object.entries(cfg.vars ?? {})) {
    const expand = compileTemplate(placeholder);
    const allowed = new Set(values);
    tests.push((ex) => allowed.has(expand(ex)));
  }
  for (const [placeholder, source] of Object.entries(cfg.vars_regexp ?? {})) {
    const expand = compileTemplate(placeholder);
    const regex = safe(source);
    tests.push((ex) => test(regex, expand(ex)));
  }
  if (cfg.not) {
    const sets = cfg.not.map(compileSet);
    tests.push((ex) => !sets.some((s) => s(ex)));
  }
  if (cfg.any) {
    const sets = cfg.any.map(compileSet);
    tests.push((ex) => sets.some((s) => s(ex)));
  }
  if (cfg.all) tests.push(...cfg.all.map(compileSet));
  if (tests.length === 1) return tests[0]!;
  return function routeMatches(ex) {
    for (const t of tests) if (!t(ex)) return false;
    return true;
  };
}

function safe(text: string): RegExp {
  const { source, ignoreCase } = matchRegex(text);
  return compileSafeRegex(source, ignoreCase).regex;
}

/** A regex without state between calls (a "g" or "y" flag would keep lastIndex). */
function test(regex: RegExp, text: string): boolean {
  regex.lastIndex = 0;
  return regex.test(text);
}

function remoteIp(list: string[] | undefined, notList: string[] | undefined): Test {
  const ips = list ? cidrMatcher(list) : undefined;
  const notIps = notList ? cidrMatcher(notList) : undefined;
  if (notIps === undefined) return (ex) => ips!.has(ex.clientIp);
  return (ex) => (ips === undefined || ips.has(ex.clientIp)) && !notIps.has(ex.clientIp);
}

/** Caddy's MatchHost: exact names in a set; a "*" label matches any one label. */
function host(list: string[]): Test {
  const exact = new Set(list.filter((h) => !h.includes('*')));
  const wild = list.filter((h) => h.includes('*')).map((h) => h.split('.'));
  return (ex) => {
    let h = hostWithoutPort(ex.hostHeader).toLowerCase();
    if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
    if (exact.has(h)) return true;
    if (wild.length === 0) return false;
    const labels = h.split('.');
    return wild.some((p) => p.length === labels.length && p.every((l, i) => l === '*' || l === labels[i]));
  };
}

function protocol(p: string): Test {
  const version = (ex: Exchange) => ex.req.httpVersionMajor * 10 + ex.req.httpVersionMinor;
  switch (p) {
    case 'http':
      return (ex) => ex.scheme === 'http';
    case 'https':
      return (ex) => ex.scheme === 'https';
    case 'grpc':
      return (ex) => (ex.req.headers['content-type'] ?? '').startsWith('application/grpc');
  }
  const m = /^http\/(\d)(?:\.(\d))?(\+?)$/.exec(p)!;
  const want = Number(m[1]) * 10 + Number(m[2] ?? 0);
  // "http/2" is any 2.x, as Caddy compares ProtoMajor only when no minor is written.
  if (m[3] === '+') return (ex) => version(ex) >= want;
  if (m[2] === undefined) return (ex) => ex.req.httpVersionMajor === Number(m[1]);
  return (ex) => version(ex) === want;
}

/** A field's values, one per field line; the Host field is the request's host (Go keeps it apart). */
function fieldValues(ex: Exchange, name: string): string[] | undefined {
  if (name === 'host') return ex.hostHeader === '' ? undefined : [ex.hostHeader];
  // rawHeaders: every request Portico serves has them (node's parser and the lean one alike).
  const raw = ex.req.rawHeaders;
  let out: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) (out ??= []).push(raw[i + 1]!);
  }
  return out;
}

function header(name: string, values: string[] | null): Test {
  if (values === null) return (ex) => fieldValues(ex, name) === undefined;
  if (values.length === 0) return (ex) => fieldValues(ex, name) !== undefined;
  const patterns = values.map(valuePattern);
  return (ex) => fieldValues(ex, name)?.some((v) => patterns.some((p) => p(v))) === true;
}

function valuePattern(pattern: string): (value: string) => boolean {
  if (pattern === '*') return () => true;
  const starts = pattern.startsWith('*');
  const ends = pattern.endsWith('*');
  if (starts && ends) {
    const inner = pattern.slice(1, -1);
    return (v) => v.includes(inner);
  }
  if (starts) {
    const suffix = pattern.slice(1);
    return (v) => v.endsWith(suffix);
  }
  if (ends) {
    const prefix = pattern.slice(0, -1);
    return (v) => v.startsWith(prefix);
  }
  return (v) => v === pattern;
}

function query(want: Record<string, string[]>): Test {
  const entries = Object.entries(want).map(([key, values]) => ({ key, any: values.includes('*'), values: new Set(values) }));
  if (entries.length === 0) return (ex) => ex.query.length <= 1;
  return (ex) => {
    const parsed = parseGoQuery(ex.query.slice(1));
    if (parsed === undefined) return false;
    for (const e of entries) {
      const got = parsed.get(e.key);
      if (got === undefined) return false;
      if (!e.any && !got.some((v) => e.values.has(v))) return false;
    }
    return true;
  };
}

/**
 * Go's url.ParseQuery: pairs split at "&", key and value at the first "=", "+" is a space and
 * %XX a byte; a pair with ";" or a bad escape is an error, and Caddy then matches nothing.
 */
export function parseGoQuery(q: string): Map<string, string[]> | undefined {
  const out = new Map<string, string[]>();
  for (const pair of q.split('&')) {
    if (pair === '') continue;
    if (pair.includes(';')) return undefined;
    const eq = pair.indexOf('=');
    const key = unescapeQuery(eq < 0 ? pair : pair.slice(0, eq));
    const value = unescapeQuery(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === undefined || value === undefined) return undefined;
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

function unescapeQuery(s: string): string | undefined {
  if (!s.includes('%')) return s.includes('+') ? s.replaceAll('+', ' ') : s;
  if (BAD_ESCAPE.test(s)) return undefined;
  return s.replaceAll('+', ' ').replace(ESCAPES, (run) => Buffer.from(run.replaceAll('%', ''), 'hex').toString('utf8'));
}

const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g;

function paths(list: string[]): Test {
  const specs = list.map((p) => parseLocation(p)).filter((s) => typeof s !== 'string');
  return (ex) => {
    const p = ex.path;
    for (const s of specs) {
      if (s.kind === 'exact' ? p === s.path : s.kind === 'prefix' ? p.startsWith(s.path) : test(s.regex, p)) return true;
    }
    return false;
  };
}
