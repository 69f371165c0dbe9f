/**
 * What the newcomer docs show must work: every whole config in README.md and docs/django.md (a
 * YAML block with a top-level `servers:`) validates and compiles, and the README keeps its two
 * commands exactly as the project promises them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../src/config/load.js';
import { compile } from '../../src/compile/compile.js';
import { silentLog } from '../../src/log/error-log.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function yamlBlocks(file: string): string[] {
  const text = readFileSync(`${ROOT}${file}`, 'utf8');
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^servers:/m.test(b));
}

for (const file of ['README.md', 'docs/django.md']) {
  test(`every whole config in ${file} validates and compiles`, () => {
    const blocks = yamlBlocks(file);
    assert.ok(blocks.length > 0, `${file} shows a config`);
    for (const [i, block] of blocks.entries()) {
      const name = `${file} config ${i + 1}`;
      const config = parseConfigText(block, name);
      const compiled = compile(config, { log: silentLog(), baseDir: ROOT }, name);
      compiled.pools.destroy();
      compiled.groups.close();
    }
  });
}

test('the README keeps its two commands', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  assert.ok(readme.includes('npm install && npm start'));
  assert.ok(readme.includes('npm install && npm test'));
});
