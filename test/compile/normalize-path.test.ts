// nginx's $uri normalization, which routing relies on: decoding, slash merging, dot segments,
// and the inputs nginx refuses with 400.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from '../../src/http/normalize-path.js';

test('normalizes like nginx $uri', () => {
  const cases: [string, string | undefined][] = [
    ['/', '/'],
    ['/api/users', '/api/users'],
    ['/a//b///c', '/a/b/c'],
    ['/a/./b/', '/a/b/'],
    ['/a/b/..', '/a/'],
    ['/static/../admin/', '/admin/'],
    ['/%61pi/', '/api/'],
    ['/a%2Fb', '/a/b'],
    ['/static/%2e%2e/admin/', '/admin/'],
    ['/caf%C3%A9', '/café'],
    ['/..', undefined],
    ['/../etc/passwd', undefined],
    ['/a/../../b', undefined],
    ['/%2e%2e/x', undefined],
    ['/a%00b', undefined],
    ['/a%zz', undefined],
    ['/%C0%AE%C0%AE/', undefined], // overlong UTF-8 for '.'
    ['relative', undefined],
    ['/.hidden', '/.hidden'],
    ['/a/.../b', '/a/.../b'],
  ];
  for (const [raw, expected] of cases) assert.equal(normalizePath(raw), expected, raw);
});
