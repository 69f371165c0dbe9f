/**
 * A route's `match` (src/compile/route-match.ts): Caddy's request matchers on real requests.
 * Each route answers its own name; the last route has no `match` and answers "other".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico } from '../helpers/portico.js';
import { rawRequest } from '../proxy/support.js';
import { parseGoQuery } from '../../src/compile/route-match.js';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';

const named = (name: string, match: Record<string, unknown>, path = '/') => ({ path, match, respond: { status: 200, body: name } });

async function answers(routes: Record<string, unknown>[], requests: string[]): Promise<string[]> {
  const p = await startPortico({ servers: [{ listen: ['127.0.0.1:0'], routes: [...routes, { path: '/', respond: { status: 200, body: 'other' } }] }] } as PorticoConfigInput);
  p.errors.length = 0;
  try {
    const out: string[] = [];
    for (const r of requests) out.push((await rawRequest(p.port, r.replace(/\n/g, '\r\n') + '\r\n')).body.toString());
    return out;
  } finally {
    await p.close();
  }
}

test('method, host (wildcard labels) and header (wildcards, present, absent) match as in Caddy', async () => {
  const got = await answers(
    [
      named('post', { method: ['POST', 'PUT'] }),
      named('wild', { host: ['*.example.com'] }),
      named('json', { header: { 'Content-Type': ['*json*'] } }),
      named('bearer', { header: { Authorization: ['Bearer *'] } }),
      named('no-ua', { header: { 'User-Agent': null } }),
      named('has-x', { header: { 'X-Debug': [] } }),
    ],
    [
      'POST / HTTP/1.1\nHost: a\nUser-Agent: t\nContent-Length: 0\n',
      'GET / HTTP/1.1\nHost: API.Example.com:8080\nUser-Agent: t\n',
      'GET / HTTP/1.1\nHost: a.b.example.com\nUser-Agent: t\n',
      'GET / HTTP/1.1\nHost: a\nUser-Agent: t\nContent-Type: application/json; charset=utf-8\n',
      'GET / HTTP/1.1\nHost: a\nUser-Agent: t\nAuthorization: Bearer abc\n',
      'GET / HTTP/1.1\nHost: a\n',
      'GET / HTTP/1.1\nHost: a\nUser-Agent: t\nX-Debug: \n',
      'PATCH / HTTP/1.1\nHost: a\nUser-Agent: t\nContent-Length: 0\n',
    ],
  );
  assert.deepEqual(got, ['post', 'wild', 'other', 'json', 'bearer', 'no-ua', 'has-x', 'other']);
});

test('query (Go parsing: a ";" or a bad escape matches nothing), header_regexp, protocol, vars, path', async () => {
  const got = await answers(
    [
      named('query', { query: { page: ['2', '3'], debug: ['*'] } }),
      named('regexp', { header_regexp: { Cookie: '(^|; )session=[a-z]+' } }),
      named('vars', { vars: { '{header.x-tenant}': ['blue'] } }),
      named('not', { not: [{ path: ['~* ^/public/'] }, { method: ['HEAD'] }], header: { 'X-Not': ['1'] } }),
      named('any', { any: [{ method: ['DELETE'] }, { path: ['= /any'] }] }),
      named('http10', { protocol: 'http/1.0' }),
    ],
    [
      'GET /?page=2&debug HTTP/1.1\nHost: a\n',
      'GET /?page=2 HTTP/1.1\nHost: a\n',
      'GET /?page=%32&debug=1 HTTP/1.1\nHost: a\n',
      'GET /?page=2;x&debug=1 HTTP/1.1\nHost: a\n',
      'GET /?page=%zz&debug=1 HTTP/1.1\nHost: a\n',
      'GET / HTTP/1.1\nHost: a\nCookie: a=1; session=abc\n',
      'GET / HTTP/1.1\nHost: a\nX-Tenant: blue\n',
      'GET /private HTTP/1.1\nHost: a\nX-Not: 1\n',
      'GET /PUBLIC/x HTTP/1.1\nHost: a\nX-Not: 1\n',
      'GET /any HTTP/1.1\nHost: a\n',
      'DELETE /x HTTP/1.1\nHost: a\n',
      'GET / HTTP/1.0\n',
    ],
  );
  assert.deepEqual(got, ['query', 'other', 'query', 'other', 'other', 'regexp', 'vars', 'not', 'other', 'any', 'any', 'http10']);
});

test('parseGoQuery reads a query as Go does', () => {
  assert.deepEqual([...parseGoQuery('a=1&a=2&b&c=x+y%20z&&')!], [['a', ['1', '2']], ['b', ['']], ['c', ['x y z']]]);
  assert.equal(parseGoQuery('a=1;b=2'), undefined);
  assert.equal(parseGoQuery('a=%G1'), undefined);
});

test('a match regex that could backtrack without bound is refused at load, with its key path', () => {
  assert.throws(
    () => validateConfig({ servers: [{ listen: [':1'], routes: [named('x', { header_regexp: { 'X-A': '(a|a)*\\1b' } })] }] }, 'portico.yaml'),
    (err: unknown) => err instanceof ConfigError && /header_regexp\.X-A/.test(err.problems.join('\n')),
  );
});
