#!/usr/bin/env node
// `npm pack` and `npm publish` build first (a fresh clone has no dist/), from clean: what a
// source file deleted or renamed since the last build left in dist/src must not be packed.
// npm runs this with node_modules/.bin on PATH, where the dev dependency's tsc is.
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
rmSync(new URL('../dist/src', import.meta.url), { recursive: true, force: true });
const result = spawnSync('tsc', ['-p', root], { stdio: 'inherit' });
if (result.error) {
  console.error(`portico: packing builds with TypeScript's tsc, a dev dependency (${result.error.message}): run \`npm ci\` first`);
  process.exit(1);
}
process.exit(result.status ?? 1);
