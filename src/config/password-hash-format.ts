/**
 * What a basic_auth password hash must look like, checked when the config is validated; hashing
 * and checking passwords is shield/'s (password-hash.ts). bcrypt (`htpasswd -B`'s $2y$, Caddy's
 * $2a$) and the other formats nginx checks in htpasswd files
 * (https://nginx.org/en/docs/http/ngx_http_auth_basic_module.html#auth_basic_user_file,
 * ngx_crypt): MD5-crypt `$apr1$` / `$1$`, SHA-crypt `$5$` / `$6$`, `{SHA}`, `{SSHA}`, `{PLAIN}`.
 */

/** $2a$ / $2b$ / $2y$, cost 04-31, 22 chars of salt and 31 of hash. */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;
const MD5 = /^\$(apr1|1)\$[^$]{0,8}\$[./A-Za-z0-9]{22}$/;
const SHA_CRYPT = /^\$[56]\$(rounds=\d{1,10}\$)?[^$]{0,16}\$[./A-Za-z0-9]{43,86}$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;
const SSHA = /^\{SSHA\}[A-Za-z0-9+/]+={0,2}$/;

export type HashScheme = 'bcrypt' | 'md5-crypt' | 'sha-crypt' | 'sha1' | 'ssha' | 'plain';

/** The format of a stored hash Portico can check, or undefined. */
export function hashScheme(text: string): HashScheme | undefined {
  if (BCRYPT.test(text)) return 'bcrypt';
  if (MD5.test(text)) return 'md5-crypt';
  if (SHA_CRYPT.test(text)) return 'sha-crypt';
  if (SHA1.test(text)) return 'sha1';
  if (SSHA.test(text) && Buffer.from(text.slice(6), 'base64').length > 20) return 'ssha';
  if (text.startsWith('{PLAIN}')) return 'plain';
  return undefined;
}

export function isPasswordHash(text: string): boolean {
  return hashScheme(text) !== undefined;
}
