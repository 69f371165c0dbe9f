/** `portico hash-password`: reads stdin, prints a bcrypt hash that verifies; refuses bad input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CLI } from '../helpers/cli.js';
import { verifyPassword, isPasswordHash } from '../../src/shield/password-hash.js';

async function run(args: string[], stdin: string) {
  const child = spawn(process.execPath, [CLI, 'hash-password', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  child.stdin.end(stdin);
  const [code] = (await once(child, 'close')) as [number];
  return { code, stdout, stderr };
}

test('hash-password: the hash verifies the password read from stdin (one trailing newline dropped)', async () => {
  const out = await run(['--cost', '4'], 'correct horse battery staple\n');
  assert.equal(out.code, 0, out.stderr);
  const hash = out.stdout.trim();
  assert.ok(isPasswordHash(hash), hash);
  assert.match(hash, /^\$2b\$04\$/);
  assert.equal(await verifyPassword('correct horse battery staple', hash), true);
  assert.equal(await verifyPassword('correct horse battery staple\n', hash), false);
});

test('hash-password: bad cost is a usage error, an empty password an error', async () => {
  assert.equal((await run(['--cost', '99'], 'x')).code, 2);
  const empty = await run(['--cost', '4'], '\n');
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /empty password/);
});
