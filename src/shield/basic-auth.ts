/**
 * HTTP Basic authentication (RFC 7617) against bcrypt hashes (nginx auth_basic + htpasswd -B,
 * Caddy basic_auth). A bcrypt check costs tens of milliseconds of CPU on the event loop, so
 * credentials that verified are remembered (by a SHA-256 of the header value, never the
 * password itself) in a small bounded map: a logged-in browser pays once, not per request.
 * Unknown users are checked against a dummy hash, so response time does not reveal which
 * user names exist.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { BasicAuthConfig } from '../config/shield-schema.js';
import { isPasswordHash, verifyPassword } from './password-hash.js';

const CACHE_SIZE = 1024;
/** bcrypt of a random password at cost 10: the work an unknown user name costs. */
const DUMMY_HASH = '$2b$10$yPLRpcNESDOpoE0l/8kPOeKUFZYJuHhAXtx2bMAD1n0JoXMdqhHXK';

export type AuthResult = { user: string } | null;

export class BasicAuth {
  readonly realm: string;
  /** The WWW-Authenticate value of a 401. */
  readonly challenge: string;
  readonly #users: Map<string, string>;
  readonly #verified = new Map<string, string>();

  constructor(users: Map<string, string>, realm: string) {
    this.#users = users;
    this.realm = realm;
    this.challenge = `Basic realm="${realm.replace(/["\\]/g, '\\$&')}", charset="UTF-8"`;
  }

  /** Remembered result for this Authorization value, without any hashing work; undefined: unknown. */
  cached(authorization: string): string | undefined {
    return this.#verified.get(digest(authorization));
  }

  /** Verifies an Authorization header value; resolves with the user or null. */
  async verify(authorization: string): Promise<AuthResult> {
    const key = digest(authorization);
    const known = this.#verified.get(key);
    if (known !== undefined) return { user: known };
    const creds = parseBasic(authorization);
    if (creds === null) return null;
    const hash = this.#users.get(creds.user);
    const ok = await verifyPassword(creds.password, hash ?? DUMMY_HASH);
    if (!ok || hash === undefined) return null;
    this.#verified.set(key, creds.user);
    if (this.#verified.size > CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value!);
    return { user: creds.user };
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

/** "Basic dXNlcjpwYXNz" -> { user, password }; the scheme is case-insensitive (RFC 9110 §11.1). */
export function parseBasic(header: string): { user: string; password: string } | null {
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Users from the config and/or an htpasswd file; throws with the file and line of a bad entry. */
export function loadUsers(cfg: BasicAuthConfig): Map<string, string> {
  const users = new Map<string, string>(Object.entries(cfg.users ?? {}));
  if (cfg.users_file !== undefined) {
    const text = readFileSync(cfg.users_file, 'utf8');
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '' || line.startsWith('#')) return;
      const colon = line.indexOf(':');
      const hash = line.slice(colon + 1).trim();
      if (colon <= 0 || !isPasswordHash(hash))
        throw new Error(`${cfg.users_file}:${i + 1}: expected user:<bcrypt hash> (htpasswd -B or portico hash-password)`);
      users.set(line.slice(0, colon), hash);
    });
  }
  return users;
}
