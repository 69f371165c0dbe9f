/**
 * The crypt(3) formats of htpasswd files that nginx checks (ngx_crypt, and the system's crypt()
 * for the rest), besides bcrypt (password-hash.ts): MD5-crypt `$1$` (FreeBSD's) and Apache's
 * `$apr1$` (the same algorithm, another magic), SHA-crypt `$5$` / `$6$` (Ulrich Drepper's
 * specification, https://www.akkadia.org/drepper/SHA-crypt.txt, `rounds=N$` included). Node has
 * no crypt(3), and a dependency cannot be added here (docs/security.md: verification runs on the
 * verifier threads, password-worker.ts, never on the event loop: SHA-crypt's rounds go up to
 * 999,999,999). Each function returns the full hash for a password and a stored hash's salt;
 * the caller compares it with the stored one in constant time.
 */
import { createHash } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(value: number, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ITOA64[value & 0x3f];
    value >>>= 6;
  }
  return out;
}

function md5(...parts: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * MD5-crypt with `magic` "$1$" or "$apr1$" (Poul-Henning Kamp's algorithm, Apache's apr_md5):
 * `stored` is the whole stored hash; the salt is what follows the magic, up to "$", 8 at most.
 */
export function md5Crypt(password: Buffer, stored: string, magic: '$1$' | '$apr1$'): string | undefined {
  const rest = stored.slice(magic.length);
  const end = rest.indexOf('$');
  const salt = Buffer.from((end < 0 ? rest : rest.slice(0, end)).slice(0, 8), 'latin1');
  const m = Buffer.from(magic, 'latin1');
  const h = createHash('md5').update(password).update(m).update(salt);
  let final = md5(password, salt, password);
  for (let left = password.length; left > 0; left -= 16) h.update(final.subarray(0, Math.min(left, 16)));
  for (let i = password.length; i > 0; i >>>= 1) h.update(i & 1 ? Buffer.alloc(1) : password.subarray(0, 1));
  final = h.digest();
  for (let i = 0; i < 1000; i++) {
    const r = createHash('md5');
    r.update(i & 1 ? password : final);
    if (i % 3) r.update(salt);
    if (i % 7) r.update(password);
    r.update(i & 1 ? final : password);
    final = r.digest();
  }
  const f = final;
  const encoded =
    to64((f[0]! << 16) | (f[6]! << 8) | f[12]!, 4) +
    to64((f[1]! << 16) | (f[7]! << 8) | f[13]!, 4) +
    to64((f[2]! << 16) | (f[8]! << 8) | f[14]!, 4) +
    to64((f[3]! << 16) | (f[9]! << 8) | f[15]!, 4) +
    to64((f[4]! << 16) | (f[10]! << 8) | f[5]!, 4) +
    to64(f[11]!, 2);
  return `${magic}${salt.toString('latin1')}$${encoded}`;
}

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;

/** The byte order of SHA-crypt's final encoding, three bytes per group (the spec's b64_from_24bit). */
const ORDER_256 = [[0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14], [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29]];
const ORDER_512 = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48], [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10],
  [53, 11, 32], [12, 33, 54], [34, 55, 13], [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

/** Parses "$5$[rounds=N$]salt[$hash]": the rounds (undefined: the default, not written) and the salt (16 at most). */
export function shaCryptSalt(stored: string): { rounds: number | undefined; salt: string } | undefined {
  let rest = stored.slice(3);
  let rounds: number | undefined;
  const r = /^rounds=(\d+)\$/.exec(rest);
  if (r) {
    // Out of range values are clamped, as glibc does; an absurd count is refused (it would only burn CPU).
    if (r[1]!.length > 10) return undefined;
    rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(r[1])));
    rest = rest.slice(r[0].length);
  }
  const end = rest.indexOf('$');
  return { rounds, salt: (end < 0 ? rest : rest.slice(0, end)).slice(0, 16) };
}

/** SHA-crypt, `$5$` (SHA-256) or `$6$` (SHA-512). */
export function shaCrypt(password: Buffer, stored: string, magic: '$5$' | '$6$'): string | undefined {
  const parsed = shaCryptSalt(stored);
  if (parsed === undefined) return undefined;
  const alg = magic === '$5$' ? 'sha256' : 'sha512';
  const size = magic === '$5$' ? 32 : 64;
  const rounds = parsed.rounds ?? ROUNDS_DEFAULT;
  const salt = Buffer.from(parsed.salt, 'latin1');
  const key = password;
  const hash = (...parts: Buffer[]) => {
    const h = createHash(alg);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const b = hash(key, salt, key);
  const a = createHash(alg).update(key).update(salt);
  for (let left = key.length; left > 0; left -= size) a.update(b.subarray(0, Math.min(left, size)));
  for (let i = key.length; i > 0; i >>>= 1) a.update(i & 1 ? b : key);
  const aDigest = a.digest();
  const dp = createHash(alg);
  for (let i = 0; i < key.length; i++) dp.update(key);
  const p = repeat(dp.digest(), key.length);
  const ds = createHash(alg);
  for (let i = 0; i < 16 + aDigest[0]!; i++) ds.update(salt);
  const s = repeat(ds.digest(), salt.length);
  let c = aDigest;
  for (let i = 0; i < rounds; i++) {
    const h = createHash(alg);
    h.update(i & 1 ? p : c);
    if (i % 3) h.update(s);
    if (i % 7) h.update(p);
    h.update(i & 1 ? c : p);
    c = h.digest();
  }
  let encoded = '';
  for (const [x, y, z] of magic === '$5$' ? ORDER_256 : ORDER_512) encoded += to64((c[x!]! << 16) | (c[y!]! << 8) | c[z!]!, 4);
  encoded += magic === '$5$' ? to64((c[31]! << 8) | c[30]!, 3) : to64(c[63]!, 2);
  return `${magic}${parsed.rounds !== undefined ? `rounds=${parsed.rounds}$` : ''}${parsed.salt}$${encoded}`;
}

/** `digest` repeated to `length` bytes. */
function repeat(digest: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += digest.length) digest.copy(out, i, 0, Math.min(digest.length, length - i));
  return out;
}
