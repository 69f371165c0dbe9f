// Route conditions in the location table: routes sharing a location are tried in order, and a
// location none of whose routes accepts the request is skipped with nginx precedence intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocationTable } from '../../src/compile/location-table.js';
import { parseLocation, type LocationSpec } from '../../src/config/location-syntax.js';

type Req = { ip: string };
const from = (ip: string) => (r: Req) => r.ip === ip;
const loc = (text: string) => parseLocation(text) as LocationSpec;

function route(table: LocationTable<string, Req>, path: string, ip: string) {
  const m = table.match(path, { ip });
  return m && 'route' in m ? m.route : m;
}

test('routes sharing a prefix: the first whose condition holds; an unconditional one last is the fallback', () => {
  const t = new LocationTable<string, Req>();
  assert.equal(t.add(loc('/app/'), 'office-a', false, from('10.0.0.1')), undefined);
  assert.equal(t.add(loc('/app/'), 'office-b', false, from('10.0.0.2')), undefined);
  assert.equal(t.add(loc('/app/'), 'everyone', false), undefined);
  assert.equal(route(t, '/app/x', '10.0.0.1'), 'office-a');
  assert.equal(route(t, '/app/x', '10.0.0.2'), 'office-b');
  assert.equal(route(t, '/app/x', '10.9.9.9'), 'everyone');
});

test('a route after an unconditional one with the same location is rejected as unreachable', () => {
  const t = new LocationTable<string, Req>();
  t.add(loc('/app/'), 'everyone', false);
  assert.match(t.add(loc('/app/'), 'office', false, from('10.0.0.1'))!, /never used/);
  assert.match(t.add(loc('/app/'), 'again', false)!, /duplicate location "\/app\/"/);
  t.add(loc('= /x'), 'x', false);
  assert.match(t.add(loc('= /x'), 'x2', false, from('1'))!, /never used/);
});

test('a prefix whose conditions fail is skipped: the next longest prefix, or a regex, takes the request', () => {
  const t = new LocationTable<string, Req>();
  t.add(loc('/'), 'root', false);
  t.add(loc('/admin/'), 'admin-office', false, from('10.0.0.1'));
  t.add(loc('^~ /static/'), 'static-office', false, from('10.0.0.1'));
  t.add(loc('~ \\.png$'), 'images', false);
  assert.equal(route(t, '/admin/users', '10.0.0.1'), 'admin-office');
  assert.equal(route(t, '/admin/users', '10.0.0.2'), 'root');
  // ^~ stops regexes only for a client it accepts.
  assert.equal(route(t, '/static/a.png', '10.0.0.1'), 'static-office');
  assert.equal(route(t, '/static/a.png', '10.0.0.2'), 'images');
});

test('exact and regex locations with conditions fall through to what nginx would pick next', () => {
  const t = new LocationTable<string, Req>();
  t.add(loc('/'), 'root', false);
  t.add(loc('= /login'), 'login-office', false, from('10.0.0.1'));
  t.add(loc('~ ^/api/'), 'api-office', false, from('10.0.0.1'));
  t.add(loc('~ ^/api/'), 'api', false);
  assert.equal(route(t, '/login', '10.0.0.1'), 'login-office');
  assert.equal(route(t, '/login', '10.0.0.2'), 'root');
  assert.equal(route(t, '/api/v1', '10.0.0.1'), 'api-office');
  assert.equal(route(t, '/api/v1', '10.0.0.2'), 'api');
});

test('the auto-redirect to a slashed proxy location applies only to clients that location accepts', () => {
  const t = new LocationTable<string, Req>();
  t.add(loc('/'), 'root', false);
  t.add(loc('/admin/'), 'admin', true, from('10.0.0.1'));
  assert.deepEqual(t.match('/admin', { ip: '10.0.0.1' }), { redirectTo: '/admin/', route: 'admin' });
  assert.equal(route(t, '/admin', '10.0.0.2'), 'root');
});
