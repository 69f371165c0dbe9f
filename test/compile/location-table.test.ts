// nginx location precedence (ngx_http_core_find_location), as a table: each row is a set of
// locations in config order, a request path, and the location nginx would pick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocationTable } from '../../src/compile/location-table.js';
import { parseLocation, type LocationSpec } from '../../src/config/location-syntax.js';

function table(locations: string[], autoRedirect = false): LocationTable<string> {
  const t = new LocationTable<string>();
  for (const l of locations) {
    const spec = parseLocation(l) as LocationSpec;
    assert.equal(typeof spec, 'object', `bad location ${l}`);
    assert.equal(t.add(spec, l, autoRedirect), undefined);
  }
  return t;
}

function pick(t: LocationTable<string>, path: string): string | undefined {
  const r = t.match(path);
  if (r === undefined) return undefined;
  return 'redirectTo' in r ? `301 ${r.redirectTo}` : r.route;
}

const CASES: [locations: string[], path: string, expected: string | undefined][] = [
  // exact wins at once, over a longer prefix and over regexes
  [['/', '= /', '~ .*'], '/', '= /'],
  [['= /api', '/api', '~ ^/api'], '/api', '= /api'],
  [['= /api', '/'], '/api/', '/'],
  // longest prefix, whatever the order
  [['/', '/api/', '/api/v1/'], '/api/v1/users', '/api/v1/'],
  [['/api/v1/', '/api/', '/'], '/api/v2/users', '/api/'],
  [['/api/', '/'], '/apix', '/'],
  [['/api', '/'], '/apix', '/api'],
  // no route at all
  [['/api/'], '/other', undefined],
  // regexes beat a plain prefix, first in config order
  [['/images/', '~ \\.(gif|jpg)$'], '/images/a.gif', '~ \\.(gif|jpg)$'],
  [['~ \\.jpg$', '~ ^/images/'], '/images/a.jpg', '~ \\.jpg$'],
  [['~ ^/images/', '~ \\.jpg$'], '/images/a.jpg', '~ ^/images/'],
  // ^~ on the longest prefix skips regexes
  [['^~ /images/', '~ \\.(gif|jpg)$'], '/images/a.gif', '^~ /images/'],
  // ^~ on a shorter prefix does not: the longest prefix is plain, so regexes run
  [['^~ /images/', '/images/big/', '~ \\.gif$'], '/images/big/a.gif', '~ \\.gif$'],
  // ... and a longer ^~ prefix wins over a shorter plain one
  [['/images/', '^~ /images/big/', '~ \\.gif$'], '/images/big/a.gif', '^~ /images/big/'],
  // no regex matches: back to the longest prefix
  [['/static/', '~ \\.php$'], '/static/a.css', '/static/'],
  // case: ~ is case-sensitive, ~* is not
  [['/', '~ \\.PHP$'], '/x.php', '/'],
  [['/', '~* \\.PHP$'], '/x.php', '~* \\.PHP$'],
  // prefix matching is case-sensitive, as in nginx on Linux
  [['/API/', '/'], '/api/x', '/'],
  // regex without any prefix
  [['~ ^/ws'], '/ws/chat', '~ ^/ws'],
  [['~ ^/ws'], '/x', undefined],
];

test('nginx location precedence', async (t) => {
  for (const [locations, path, expected] of CASES) {
    await t.test(`${JSON.stringify(locations)} ${path}`, () => {
      assert.equal(pick(table(locations), path), expected);
    });
  }
});

test('auto-redirect: "/admin" -> 301 "/admin/" for a proxied "/admin/" location', () => {
  const t = table(['/', '/admin/'], true);
  assert.equal(pick(t, '/admin'), '301 /admin/');
  assert.equal(pick(t, '/admin/'), '/admin/');
  assert.equal(pick(t, '/adminx'), '/');
});

test('auto-redirect yields to an exact or equal prefix location', () => {
  assert.equal(pick(table(['/', '/admin/', '= /admin'], true), '/admin'), '= /admin');
  assert.equal(pick(table(['/admin', '/admin/'], true), '/admin'), '/admin');
});

test('no auto-redirect for routes that do not proxy', () => {
  assert.equal(pick(table(['/', '/admin/'], false), '/admin'), '/');
});

test('regex captures are returned for placeholders', () => {
  const t = table(['~ ^/user/(?<id>\\d+)/(\\w+)$']);
  const r = t.match('/user/42/edit');
  assert.ok(r && 'captures' in r);
  assert.equal(r.captures?.groups?.id, '42');
  assert.equal(r.captures?.[2], 'edit');
});

test('duplicates are rejected like nginx does', () => {
  const t = new LocationTable<string>();
  assert.equal(t.add(parseLocation('/a/') as LocationSpec, 'x', false), undefined);
  assert.match(t.add(parseLocation('/a/') as LocationSpec, 'y', false)!, /duplicate location/);
  assert.equal(t.add(parseLocation('= /a/') as LocationSpec, 'z', false), undefined);
  assert.match(t.add(parseLocation('= /a/') as LocationSpec, 'w', false)!, /duplicate location "= \/a\/"/);
});

test('location syntax errors', () => {
  assert.match(parseLocation('api/') as string, /starting with '\/'/);
  assert.match(parseLocation('~ (') as string, /invalid regular expression/);
  assert.match(parseLocation('@ x') as string, /unknown modifier '@'/);
  assert.match(parseLocation('=') as string, /starting with '\/'|expected a path/);
  const named = parseLocation('~ ^/(?P<name>\\w+)$');
  assert.ok(typeof named === 'object' && named.kind === 'regex' && named.regex.exec('/abc')?.groups?.name === 'abc');
});
