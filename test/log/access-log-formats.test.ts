// Access logs: nginx log_format templates and escaping, logs per server and per route (off,
// lists, if= conditions, buffers), one format per file, request ids in both logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startPortico } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { rawRequest, closedPort } from '../proxy/support.js';
import { validateConfig } from '../../src/config/load.js';
import { AccessLog } from '../../src/log/access-log.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'portico-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
}

test('a log_format template writes nginx variables, escaped as nginx does', async (t) => {
  const dir = tempDir(t);
  const up = await startUpstream();
  t.after(() => up.close());
  const file = join(dir, 'access.log');
  const jsonFile = join(dir, 'json.log');
  const p = await startPortico({
    log_formats: {
      main: '$remote_addr "$request" $status $body_bytes_sent "$http_user_agent" $upstream_addr $request_time rt=$upstream_header_time x=$http_x_thing',
      js: { template: '{"ua":"$http_user_agent","status":$status,"uri":"$request_uri"}', escape: 'json' },
    },
    access_log: [{ path: file, format: 'main' }, { path: jsonFile, format: 'js' }],
    servers: [{ routes: [{ path: '/', proxy: { to: up.address } }] }],
  });
  await rawRequest(p.port, 'GET /a?q=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: say "hi" \\ \xe9t\xe9\r\nX-Thing: yes\r\nConnection: close\r\n\r\n');
  await p.close();
  const [line] = lines(file);
  assert.match(line!, new RegExp(`^127\\.0\\.0\\.1 "GET /a\\?q=1 HTTP/1\\.1" 200 \\d+ "say \\\\x22hi\\\\x22 \\\\x5C \\\\xC3\\\\xA9t\\\\xC3\\\\xA9" ${up.address.replace(/\./g, '\\.')} \\d+\\.\\d{3} rt=\\d+\\.\\d{3} x=yes$`));
  const json = JSON.parse(lines(jsonFile)[0]!) as { ua: string; status: number; uri: string };
  // The bytes as sent (UTF-8 here), read as latin1 by node: JSON escaping leaves them alone.
  assert.deepEqual(json, { ua: 'say "hi" \\ \xc3\xa9t\xc3\xa9', status: 200, uri: '/a?q=1' });
});

test('logs per server and per route: their own files, off, and the top level for the rest', async (t) => {
  const dir = tempDir(t);
  const top = join(dir, 'top.log');
  const api = join(dir, 'api.log');
  const other = join(dir, 'other.log');
  const p = await startPortico({
    access_log: { path: top },
    servers: [
      {
        hosts: ['main.test', '127.0.0.1'],
        routes: [
          { path: '/api/', respond: { body: 'api' }, access_log: { path: api, format: 'json' } },
          { path: '/quiet/', respond: { body: 'q' }, access_log: false },
          { path: '/', respond: { body: 'root' } },
        ],
      },
      { hosts: ['other.test'], access_log: { path: other, format: '$host $status' }, routes: [{ path: '/', respond: { body: 'o' } }] },
    ],
  });
  await fetch(`${p.url}/api/x`);
  await fetch(`${p.url}/quiet/x`);
  await fetch(`${p.url}/home`);
  await rawRequest(p.port, 'GET / HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n');
  await p.close();
  assert.equal(lines(top).length, 1);
  assert.match(lines(top)[0]!, /"GET \/home HTTP\/1\.1" 200/);
  assert.equal((JSON.parse(lines(api)[0]!) as { uri: string }).uri, '/api/x');
  assert.equal(lines(api).length, 1);
  assert.deepEqual(lines(other), ['other.test 200']);
});

test('if= writes a line only when its value is neither empty nor "0"', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'access.log');
  const p = await startPortico({
    maps: { loggable: { source: '{path}', values: { '/health': '0' }, default: '1' } },
    access_log: { path: file, format: '$request_uri $status', if: '$loggable' },
    servers: [{ routes: [{ path: '/', respond: { body: 'ok' } }] }],
  });
  for (const path of ['/a', '/health', '/b', '/health']) await (await fetch(`${p.url}${path}`)).text();
  await p.close();
  // A line is written when its response finished, which may come after the next request's.
  assert.deepEqual(lines(file).sort(), ['/a 200', '/b 200']);
});

test('a buffered log writes every line by the time Portico stops', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'access.log');
  const p = await startPortico({ access_log: { path: file, buffer: '32k', flush: '1m' }, servers: [{ routes: [{ path: '/', respond: { body: 'ok' } }] }] });
  for (let i = 0; i < 25; i++) await (await fetch(`${p.url}/${i}`)).text();
  await p.close();
  assert.equal(lines(file).length, 25);
});

test('one format per stream: two formats on one file, or the error log on an access log, are refused', () => {
  const base = { servers: [{ routes: [{ path: '/', respond: {} }] }] };
  assert.throws(() => AccessLog.fromConfig(validateConfig({ ...base, access_log: [{ path: '/tmp/portico-same.log' }, { path: '/tmp/portico-same.log', format: 'json' }] }, 't')), /another format/);
  assert.throws(
    () => AccessLog.fromConfig(validateConfig({ ...base, access_log: { path: '/tmp/portico-both.log' }, error_log: '/tmp/portico-both.log' }, 't')),
    /also the error_log/,
  );
  assert.throws(() => validateConfig({ ...base, access_log: { format: '$remote_addr $no_such_thing' } }, 't'), /unknown log variable \$no_such_thing/);
  assert.throws(() => validateConfig({ ...base, access_log: { format: 'nosuchname' } }, 't'), /expected combined, json, a name from log_formats/);
  assert.throws(() => AccessLog.fromConfig(validateConfig({ ...base, access_log: { path: '/dev/null/portico/access.log' } }, 't')), /cannot open/);
});

test('request ids: made when none is trusted, taken from a trusted proxy, passed upstream and returned, in both logs', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'access.log');
  const up = await startUpstream();
  t.after(() => up.close());
  const dead = await closedPort();
  const p = await startPortico({
    request_id: { upstream: true, response: true },
    access_log: { path: file, format: '$request_id $status' },
    servers: [
      {
        trusted_proxies: ['127.0.0.1/32'],
        routes: [
          { path: '/dead/', proxy: { to: `127.0.0.1:${dead}` } },
          { path: '/', proxy: { to: up.address } },
        ],
      },
    ],
  });
  const trusted = await fetch(`${p.url}/a`, { headers: { 'X-Request-ID': 'from-the-lb-42' } });
  assert.equal(trusted.headers.get('x-request-id'), 'from-the-lb-42');
  assert.deepEqual(up.seen.at(-1)!.headers['x-request-id'], 'from-the-lb-42');
  // An id that could not safely be logged or sent is not taken: one is made instead.
  const bad = await fetch(`${p.url}/b`, { headers: { 'X-Request-ID': 'has space' } });
  const made = bad.headers.get('x-request-id')!;
  assert.match(made, /^[0-9a-f]{32}$/);
  assert.equal(up.seen.at(-1)!.headers['x-request-id'], made);
  const failed = await fetch(`${p.url}/dead/x`);
  assert.equal(failed.status, 502);
  const failedId = failed.headers.get('x-request-id')!;
  assert.match(failedId, /^[0-9a-f]{32}$/);
  await p.close();
  // A line is written when its response has finished (fetch leaves bodies unread): any order.
  assert.deepEqual(lines(file).sort(), ['from-the-lb-42 200', `${made} 200`, `${failedId} 502`].sort());
  const errorLine = p.errors.find((e) => String(e.msg).startsWith('upstream failed'));
  assert.equal(errorLine?.request_id, failedId);
});

test('a client that is not a trusted proxy cannot choose its request id', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  const p = await startPortico({ request_id: { upstream: true }, servers: [{ routes: [{ path: '/', proxy: { to: up.address } }] }] });
  t.after(() => p.close());
  const r = await fetch(`${p.url}/`, { headers: { 'X-Request-ID': 'chosen-by-client' } });
  assert.equal(r.headers.get('x-request-id'), null, 'not returned unless asked');
  const sent = up.seen.at(-1)!.rawHeaders.filter((_, i, a) => i % 2 === 0 && a[i]!.toLowerCase() === 'x-request-id').length;
  assert.equal(sent, 1, 'one X-Request-ID reaches the upstream');
  assert.match(String(up.seen.at(-1)!.headers['x-request-id']), /^[0-9a-f]{32}$/);
});
