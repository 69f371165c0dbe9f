// What a reload may change (src/server/reload-scope.ts): routes and pools yes; listen
// addresses, process-wide settings and, with HTTPS, the names and certificates no.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.js';
import { restartOnlyChange } from '../../src/server/reload-scope.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';

const base = (over: Partial<PorticoConfigInput['servers'][number]> = {}, top: Partial<PorticoConfigInput> = {}) =>
  validateConfig({ ...top, servers: [{ listen: ['127.0.0.1:8080'], hosts: ['a.test'], routes: [{ path: '/', respond: { body: 'x' } }], ...over }] }, 'reload.yaml');

test('routes, hosts of a plain server and upstreams may change', () => {
  const next = validateConfig(
    {
      upstreams: { app: { servers: ['127.0.0.1:8001'] } },
      servers: [{ listen: ['127.0.0.1:8080'], hosts: ['b.test'], routes: [{ path: '/api/', proxy: { to: 'app' } }, { path: '/', respond: { body: 'y' } }] }],
    },
    'reload.yaml',
  );
  assert.equal(restartOnlyChange(base(), next, false), undefined);
});

test('listen addresses, the number of servers and process-wide settings need a restart', () => {
  assert.equal(restartOnlyChange(base(), base({ listen: ['127.0.0.1:8081'] }), false), 'servers[0].listen');
  assert.equal(restartOnlyChange(base(), base({}, { workers: 2 }), false), "'workers'");
  assert.equal(restartOnlyChange(base(), base({}, { log_level: 'debug' }), false), "'log_level'");
  assert.equal(restartOnlyChange(base(), base({}, { client: { header_timeout: '5s' } }), false), "'client'");
  const two = validateConfig({ servers: [base().servers[0]!, { listen: ['127.0.0.1:8081'], routes: [{ path: '/', respond: {} }] }] }, 'reload.yaml');
  assert.equal(restartOnlyChange(base(), two, false), 'the number of servers');
});

test('with HTTPS in play, a server\'s names and TLS settings need a restart too', () => {
  assert.equal(restartOnlyChange(base(), base({ hosts: ['b.test'] }), true), 'servers[0].hosts (a config with HTTPS)');
  assert.equal(restartOnlyChange(base({ tls: 'internal' }), base({ tls: 'internal', hsts: true }), true), 'servers[0].hsts (a config with HTTPS)');
  assert.equal(restartOnlyChange(base({ tls: 'internal' }), base({ tls: 'internal', routes: [{ path: '/', respond: { body: 'new' } }] }), true), undefined);
});
