/**
 * Password hashes for basic auth: bcrypt, through bcryptjs (pure JavaScript, no native build,
 * maintained, 26M weekly downloads). bcrypt rather than Node's built-in scrypt because it is
 * what existing credentials are already in: `htpasswd -B` ($2y$), Caddy's basic_auth and
 * `caddy hash-password` ($2a$), so the nginx and Caddy adapters can take user files and hashes
 * as they are. The price is CPU: tens of milliseconds per check, which is why the server
 * checks passwords on worker threads (verifier-pool.ts, password-worker.ts), never with
 * verifyPassword below on the event loop.
 */
import bcrypt from 'bcryptjs';

/** OWASP's minimum; about 70 ms per check in bcryptjs on one core. `hash-password --cost` raises it. */
export const DEFAULT_COST = 10;

/** The format check the config's validation makes (config/password-hash-format.ts). */
export { isPasswordHash } from '../config/password-hash-format.js';

export function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  return bcrypt.hash(password, cost);
}

/** Constant-time for a given hash (bcrypt compares every byte). On this thread: for the CLI and tests, not for serving. */
export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

/** bcrypt reads only the first 72 bytes of a password. */
export function passwordTooLong(password: string): boolean {
  return Buffer.byteLength(password) > 72;
}
