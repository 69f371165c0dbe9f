#!/usr/bin/env node
// Runs the whole suite with node's test runner over the compiled tests in dist/test.
// Usage: node scripts/test.mjs [area ...]   (e.g. "proxy" runs dist/test/proxy only)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const base = join(root, 'dist', 'test');
const areas = process.argv.slice(2);
const dirs = areas.length > 0 ? areas.map((a) => join(base, a)) : [base];

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = dirs.flatMap((d) => collect(d, [])).sort();
if (files.length === 0) {
  console.error('no test files found under', dirs.join(', '));
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...files], {
  stdio: 'inherit',
  cwd: root,
  // Many Porticos start at once in the suite: none opens the default admin port unless its test asks.
  env: { PORTICO_ADMIN: 'off', ...process.env },
});
process.exit(result.status ?? 1);
