/**
 * Password hashes for basic auth. New hashes are bcrypt, through bcryptjs (pure JavaScript, no
 * native build, maintained, 26M weekly downloads): what `htpasswd -B` ($2y$), Caddy's basic_auth
 * and `caddy hash-password` ($2a$) write, so the nginx and Caddy adapters take user files and
 * hashes as they are. Existing htpasswd files also hold the other formats nginx checks
 * (https://nginx.org/en/docs/http/ngx_http_auth_basic_module.html#auth_basic_user_file,
 * ngx_crypt): MD5-crypt `$apr1$` / `$1$` and SHA-crypt `$5$` / `$6$` (crypt.ts), `{SHA}`,
 * `{SSHA}` and `{PLAIN}`; those are checked too. The price of bcrypt and SHA-crypt is CPU: tens
 * of milliseconds per check, which is why the server checks passwords on worker threads
 * (verifier-pool.ts, password-worker.ts), never with verifyPassword below on the event loop.
 */
import bcrypt from 'bcryptjs';
import { createHash, timingSafeEqual } from 'node:crypto';
import { md5Crypt, shaCrypt } from './crypt.js';
import { hashScheme } from '../config/password-hash-format.js';

/** OWASP's minimum; about 70 ms per check in bcryptjs on one core. `hash-password --cost` raises it. */
export const DEFAULT_COST = 10;

/** The format check the config's validation makes (config/password-hash-format.ts). */
export { isPasswordHash, hashScheme } from '../config/password-hash-format.js';

export function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  return bcrypt.hash(password, cost);
}

/**
 * Whether `password` matches `hash`, synchronously: on a verifier thread (password-worker.ts),
 * where blocking is the point. A hash of no known format never matches.
 */
export function checkPassword(password: string, hash: string): boolean {
  const pw = Buffer.from(password, 'utf8');
  switch (hashScheme(hash)) {
    case 'bcrypt':
      return bcrypt.compareSync(password, hash);
    case 'md5-crypt':
      return same(md5Crypt(pw, hash, hash.startsWith('$apr1$') ? '$apr1$' : '$1$'), hash);
    case 'sha-crypt':
      return same(shaCrypt(pw, hash, hash.startsWith('$5$') ? '$5$' : '$6$'), hash);
    case 'sha1':
      return same(`{SHA}${createHash('sha1').update(pw).digest('base64')}`, hash);
    case 'ssha': {
      // base64(SHA-1(password + salt) + salt)
      const stored = Buffer.from(hash.slice(6), 'base64');
      const salt = stored.subarray(20);
      return same(`{SSHA}${Buffer.concat([createHash('sha1').update(pw).update(salt).digest(), salt]).toString('base64')}`, hash);
    }
    case 'plain':
      return same(`{PLAIN}${password}`, hash);
    default:
      return false;
  }
}

/** Constant-time for equal lengths (a length says nothing about the password). */
function same(computed: string | undefined, stored: string): boolean {
  if (computed === undefined) return false;
  const a = Buffer.from(computed, 'utf8');
  const b = Buffer.from(stored, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time for a given hash. On this thread: for the CLI and tests, not for serving. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (hashScheme(hash) === 'bcrypt') return bcrypt.compare(password, hash);
  return checkPassword(password, hash);
}

/** bcrypt reads only the first 72 bytes of a password. */
export function passwordTooLong(password: string): boolean {
  return Buffer.byteLength(password) > 72;
}
