/** The `files` schema: what a config may say, and the errors that tell the user what to change. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

function problems(route: Record<string, unknown>): string[] {
  try {
    validateConfig({ servers: [{ routes: [route] }] }, 'portico.yaml');
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
}

test('files: defaults filled in', () => {
  const config = validateConfig({ servers: [{ routes: [{ path: '/', files: { root: 'public' } }] }] }, 'x');
  const files = config.servers[0]!.routes[0]!.files!;
  assert.deepEqual(files.index, ['index.html']);
  assert.equal(files.browse, false);
  assert.equal(files.hidden, false);
  assert.equal(files.follow_symlinks_outside, false);
  assert.equal(files.expires, 'off');
  assert.deepEqual(files.precompressed, []);
  assert.equal(files.etag, true);
  assert.equal(files.file_cache_valid, 1000);
  const week = validateConfig({ servers: [{ routes: [{ path: '/', files: { root: 'p', expires: '7d' } }] }] }, 'x');
  assert.equal(week.servers[0]!.routes[0]!.files!.expires, 7 * 86_400_000);
});

test('files: errors a table', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ path: '/', files: {} }, /files: expected one of root or alias/],
    [{ path: '/', files: { root: 'a', alias: 'b' } }, /files: expected one of root or alias/],
    [{ path: '/', files: { root: 'a', try_files: ['=404', '{path}'] } }, /files\.try_files\[0\]: a status \("=404"\) may only be the last entry/],
    [{ path: '/', files: { root: 'a', try_files: ['{path}', '=44'] } }, /expected a status such as =404, got '=44'/],
    [{ path: '/', files: { root: 'a', try_files: ['=404'] } }, /expected at least one file candidate/],
    [{ path: '/', files: { root: 'a', try_files: ['{path}', '=404'], fallback: { proxy: { to: '127.0.0.1:1' } } } }, /either a final status or a fallback/],
    [{ path: '/', files: { root: 'a', precompressed: ['deflate'] } }, /precompressed\[0\]: expected one of "br", "zstd", "gzip"/],
    [{ path: '/', files: { root: 'a', expires: 'soon' } }, /expected 'off', 'max' or a duration/],
    [{ path: '/', files: { root: 'a', index: ['a/b.html'] } }, /index\[0\]: expected a file name without "\/"/],
    [{ path: '/', files: { root: 'a', browse: 'xml' } }, /files\.browse/],
    [{ path: '/', files: { root: 'a', colour: 'red' } }, /files\.colour: unknown key 'colour'/],
    [{ path: '/img/', files: { alias: 'a/{re.1}' } }, /files\.alias: placeholders in alias need a regex route/],
    [{ path: '/', files: { root: 'a' }, proxy: { to: '127.0.0.1:1' } }, /expected one handler, got proxy and files/],
  ];
  for (const [route, expected] of cases) {
    const found = problems(route);
    assert.ok(found.some((p) => expected.test(p)), `${JSON.stringify(route)}: ${JSON.stringify(found)}`);
  }
  assert.deepEqual(problems({ path: '~ ^/img/(.+)$', files: { alias: 'a/{re.1}' } }), []);
});
