/**
 * What a basic_auth password hash must look like (bcrypt: `htpasswd -B`'s $2y$, Caddy's $2a$),
 * checked when the config is validated; hashing and checking passwords is shield/'s.
 */

/** $2a$ / $2b$ / $2y$, cost 04-31, 22 chars of salt and 31 of hash. */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

export function isPasswordHash(text: string): boolean {
  return BCRYPT.test(text);
}
