/**
 * What the docs show must work: every whole config in README.md, docs/django.md,
 * docs/configuration.md and docs/https.md (a YAML block with a top-level `servers:` and no
 * `[...]` standing for routes left out) validates and compiles, and the README keeps its two
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
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^servers:/m.test(b) && !b.includes('[...]'));
}

for (const file of ['README.md', 'docs/django.md', 'docs/configuration.md', 'docs/https.md']) {
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

test('configuration.md shows a whole config for compression and one for the response cache', () => {
  const blocks = yamlBlocks('docs/configuration.md');
  assert.ok(blocks.some((b) => /^ {4}compress: true/m.test(b) && /compress: false/.test(b)), 'a compress example');
  assert.ok(blocks.some((b) => /^cache:/m.test(b) && /^ {8}cache:/m.test(b) && /purge:/.test(b)), 'a cache example');
});
