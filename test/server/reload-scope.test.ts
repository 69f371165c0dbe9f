// What a reload may not change (src/server/reload-scope.ts): only `user` and `data_dir`. Listen
// addresses, HTTPS names, workers, logs and `client` all apply (test/server/reload.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.js';
import { restartOnlyChange } from '../../src/server/reload-scope.js';
import type { PorticoConfigInput } from '../../src/config/schema.js';

const base = (over: Partial<PorticoConfigInput['servers'][number]> = {}, top: Partial<PorticoConfigInput> = {}) =>
  validateConfig({ ...top, servers: [{ listen: ['127.0.0.1:8080'], hosts: ['a.test'], routes: [{ path: '/', respond: { body: 'x' } }], ...over }] }, 'reload.yaml');

test('listen addresses, servers, HTTPS names, workers, logs and client limits may all change', () => {
  const next = validateConfig(
    {
      workers: 2,
      log_level: 'debug',
      access_log: { format: 'json', output: 'stderr' },
      client: { header_timeout: '5s' },
      password_checks: { threads: 1 },
      upstreams: { app: { servers: ['127.0.0.1:8001'] } },
      servers: [
        { listen: ['127.0.0.1:8081'], hosts: ['b.test'], tls: 'internal', routes: [{ path: '/api/', proxy: { to: 'app' } }, { path: '/', respond: { body: 'y' } }] },
        { listen: ['127.0.0.1:8082'], routes: [{ path: '/', respond: {} }] },
      ],
    },
    'reload.yaml',
  );
  assert.equal(restartOnlyChange(base(), next), undefined);
});

test("'user' and 'data_dir' are refused with the reason and what applies them", () => {
  assert.match(restartOnlyChange(base(), base({}, { user: 'nobody' }))!, /^'user' changed, which a running process cannot take \(the process dropped root .*\): `portico upgrade` or a restart applies it$/);
  assert.match(restartOnlyChange(base(), base({}, { data_dir: '/srv/portico' }))!, /^'data_dir' changed, which a running process cannot take \(the local CA, ACME account and cache live there/);
});
