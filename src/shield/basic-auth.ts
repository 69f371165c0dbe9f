/**
 * HTTP Basic authentication (RFC 7617) against bcrypt hashes (nginx auth_basic + htpasswd -B,
 * Caddy basic_auth) and the other htpasswd formats nginx checks (password-hash.ts). A bcrypt
 * check costs tens of milliseconds of CPU, so no check runs on the
 * event loop: checks go to the verifier threads of password-checks.ts (a full queue: 503), and
 * a client address with too many wrong credentials gets 429 without any check. Credentials
 * that verified are remembered (by a SHA-256 of the header value, never the password itself)
 * in a small bounded map, and the same credentials arriving while their check runs wait for
 * that check: a logged-in browser pays once, not per request. Unknown users are checked
 * against a dummy hash, so response time does not reveal which user names exist.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { BasicAuthConfig } from '../config/shield-schema.js';
import { isPasswordHash } from './password-hash.js';
import type { PasswordChecks } from './password-checks.js';

const CACHE_SIZE = 1024;
/** bcrypt of a random password at cost 10: the work an unknown user name costs. */
const DUMMY_HASH = '$2b$10$yPLRpcNESDOpoE0l/8kPOeKUFZYJuHhAXtx2bMAD1n0JoXMdqhHXK';

/** A user, or what to answer instead: 401 (wrong), 429 (too many wrong), 503 (no capacity to check). */
export type Outcome = { user: string } | { status: 401 } | { status: 429 | 503; retryAfter: number };

const WRONG: Outcome = { status: 401 };
const BUSY: Outcome = { status: 503, retryAfter: 1 };

interface Running {
  outcome: Promise<Outcome>;
  /** The `gone` of every request waiting for it: the check is dropped if all left while it queued. */
  waiting: (() => boolean)[];
}

export class BasicAuth {
  readonly realm: string;
  /** The WWW-Authenticate value of a 401. */
  readonly challenge: string;
  readonly #users: Map<string, string>;
  readonly #checks: PasswordChecks;
  readonly #verified = new Map<string, string>();
  readonly #running = new Map<string, Running>();

  constructor(users: Map<string, string>, realm: string, checks: PasswordChecks) {
    this.#users = users;
    this.#checks = checks;
    this.realm = realm;
    this.challenge = `Basic realm="${realm.replace(/["\\]/g, '\\$&')}", charset="UTF-8"`;
  }

  /**
   * Checks an Authorization header value from `client` (its address: the failure count's key).
   * Synchronous when no bcrypt check is needed (remembered, malformed, refused by a limit).
   */
  check(authorization: string, client: string, gone: () => boolean): Outcome | Promise<Outcome> {
    const key = digest(authorization);
    const known = this.#verified.get(key);
    if (known !== undefined) return { user: known };
    const running = this.#running.get(key);
    if (running !== undefined) {
      running.waiting.push(gone);
      return running.outcome;
    }
    const creds = parseBasic(authorization);
    if (creds === null) return WRONG; // costs nothing: not counted
    const failures = this.#checks.failures;
    const wait = failures.begin(client);
    if (wait > 0) return { status: 429, retryAfter: wait };
    const hash = this.#users.get(creds.user);
    const waiting = [gone];
    const match = this.#checks.pool.verify(creds.password, hash ?? DUMMY_HASH, () => waiting.every((g) => g()));
    if (match === undefined) {
      failures.end(client, false);
      return BUSY;
    }
    const outcome = match.then(
      (ok): Outcome => {
        const right = ok && hash !== undefined;
        failures.end(client, !right);
        if (!right) return WRONG;
        this.#verified.set(key, creds.user);
        if (this.#verified.size > CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value!);
        return { user: creds.user };
      },
      (): Outcome => {
        failures.end(client, false); // not checked (the thread died, the server is stopping)
        return BUSY;
      },
    );
    this.#running.set(key, { outcome, waiting });
    void outcome.then(() => this.#running.delete(key));
    return outcome;
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

/** A stored hash that no password matches (an htpasswd line whose hash Portico cannot read). */
export const NEVER = '!';

/**
 * Users from the config and/or an htpasswd file (nginx's reading of it: `user:hash` lines, "#"
 * comments, the first line for a user wins); throws with the file and line of a line that is not
 * `user:hash`. A hash of a format Portico does not check (crypt(3) DES, a broken entry) lets that
 * user in never, as nginx refuses a broken one (`unreadable` lists them, for warnings).
 */
export function loadUsers(cfg: BasicAuthConfig, unreadable: string[] = []): Map<string, string> {
  const users = new Map<string, string>(Object.entries(cfg.users ?? {}));
  if (cfg.users_file !== undefined) {
    const text = readFileSync(cfg.users_file, 'utf8');
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '' || line.startsWith('#')) return;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`${cfg.users_file}:${i + 1}: expected user:<hash> (htpasswd, or portico hash-password)`);
      const user = line.slice(0, colon);
      const hash = line.slice(colon + 1).trim();
      if (users.has(user)) return;
      if (!isPasswordHash(hash)) unreadable.push(`${cfg.users_file}:${i + 1}`);
      users.set(user, isPasswordHash(hash) ? hash : NEVER);
    });
  }
  return users;
}
