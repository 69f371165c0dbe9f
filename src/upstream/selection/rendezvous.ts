/**
 * Weighted rendezvous (highest random weight) hashing, which Caddy uses for its hash
 * policies: every server scores the key, the highest available score wins. Adding a server
 * moves only the keys it now wins (about 1/N of them), removing or losing one moves only its
 * own keys, and no ring has to be rebuilt. The score -weight/ln(u), u uniform in (0,1) from
 * the hash, makes a server's share proportional to its weight (Schindelhauer & Schomaker 2005).
 */
import type { Candidate } from './policy.js';

/** 32-bit FNV-1a over the string's UTF-16 code units, finished with murmur3's fmix32. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const seeds = new Map<string, number>();

function seedOf(key: string): number {
  let s = seeds.get(key);
  if (s === undefined) {
    s = hash32(key);
    seeds.set(key, s);
  }
  return s;
}

export function rendezvous<C extends Candidate>(candidates: readonly C[], key: string): C | undefined {
  const k = hash32(key);
  let best: C | undefined;
  let bestScore = -Infinity;
  for (const c of candidates) {
    if (!c.available()) continue;
    const h = fmix32((k ^ Math.imul(seedOf(c.key), 0x9e3779b1)) >>> 0);
    const score = -c.weight / Math.log((h + 0.5) / 4294967296);
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}
