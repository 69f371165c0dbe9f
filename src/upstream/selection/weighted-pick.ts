/** A random available candidate, each as likely as its weight (nginx `random`). */
import type { Candidate } from './policy.js';

export function weightedRandom<C extends Candidate>(candidates: readonly C[], random: () => number, skip?: C): C | undefined {
  let total = 0;
  for (const c of candidates) if (c !== skip && c.available()) total += c.weight;
  if (total === 0) return undefined;
  let point = random() * total;
  let last: C | undefined;
  for (const c of candidates) {
    if (c === skip || !c.available()) continue;
    last = c;
    point -= c.weight;
    if (point < 0) return c;
  }
  return last; // rounding at the very top of the range
}
