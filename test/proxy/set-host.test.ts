// request_headers.set.Host replaces the client's Host: the upstream gets exactly one Host, the
// configured one (what the nginx adapter writes for proxy_set_header Host / nginx's $proxy_host).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico } from '../helpers/portico.js';
import { startUpstream } from '../helpers/upstream.js';
import { rawRequest } from './support.js';

test('request_headers.set.Host: one Host upstream, the configured one', async (t) => {
  const up = await startUpstream();
  const p = await startPortico({
    servers: [
      {
        routes: [
          { path: '/named/', proxy: { to: up.address }, request_headers: { set: { Host: 'app.internal' } } },
          { path: '/template/', proxy: { to: up.address }, request_headers: { set: { Host: '{host}' } } },
        ],
      },
    ],
  });
  t.after(() => Promise.all([p.close(), up.close()]));
  for (const [path, expected] of [
    ['/named/x', 'app.internal'],
    ['/template/x', 'www.example.test'],
  ] as const) {
    await rawRequest(p.port, `GET ${path} HTTP/1.1\r\nHost: WWW.Example.TEST:8080\r\nConnection: close\r\n\r\n`);
    const seen = up.seen[up.seen.length - 1]!;
    const hosts = seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.toLowerCase() === 'host');
    assert.equal(hosts.length, 1, path);
    assert.equal(seen.headers.host, expected, path);
  }
});
