// Virtual host selection in nginx's order: exact, longest leading wildcard, longest trailing
// wildcard, first regex, default server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostTable } from '../../src/compile/host-table.js';
import { hostWithoutPort } from '../../src/http/host.js';

function hosts(): HostTable<string> {
  const t = new HostTable<string>();
  for (const [name, server] of [
    ['example.com', 'exact'],
    ['*.example.com', 'wild'],
    ['*.api.example.com', 'wild-api'],
    ['www.example.*', 'trailing'],
    ['~^app\\d+\\.test$', 'regex'],
    ['.example.org', 'dot'],
  ] as const) {
    assert.equal(t.add(name, server), undefined);
  }
  t.setDefault('default');
  return t;
}

test('host precedence', () => {
  const t = hosts();
  const cases: [string, string][] = [
    ['example.com', 'exact'],
    ['www.example.com', 'wild'], // leading wildcard beats trailing
    ['a.b.example.com', 'wild'], // nginx: *.example.com covers deeper names
    ['x.api.example.com', 'wild-api'], // longest leading wildcard
    ['www.example.net', 'trailing'],
    ['app12.test', 'regex'],
    ['appx.test', 'default'],
    ['example.org', 'dot'],
    ['sub.example.org', 'dot'],
    ['unknown.host', 'default'],
    ['', 'default'],
  ];
  for (const [host, expected] of cases) assert.equal(t.match(host), expected, host);
});

test('host header normalization: case, port, IPv6, trailing dot', () => {
  assert.equal(hostWithoutPort('Example.COM:8080'), 'example.com');
  assert.equal(hostWithoutPort('[::1]:8080'), '::1');
  assert.equal(hostWithoutPort('example.com.'), 'example.com');
  assert.equal(hostWithoutPort('localhost'), 'localhost');
});

test('conflicting names are errors', () => {
  const t = new HostTable<string>();
  assert.equal(t.add('a.com', 'x'), undefined);
  assert.match(t.add('A.com', 'y')!, /used by two servers/);
  assert.match(t.add('a.*.com', 'y')!, /wildcard must be the first or last label/);
  assert.match(t.add('~(', 'y')!, /invalid host regex/);
});
