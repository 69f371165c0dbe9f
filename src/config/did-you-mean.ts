/**
 * "did you mean ...?" for an unknown config key: the valid keys at that place in the schema,
 * and the one closest to what was written (Levenshtein distance), when it is close enough to be
 * a typo rather than a different word.
 */
import type { z } from 'zod';

/** The keys an object at `path` may have (several objects, for a union), read from the schema. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let here: z.core.$ZodType[] = [schema as unknown as z.core.$ZodType];
  for (const seg of path) here = here.flatMap((s) => step(s, seg));
  return [...new Set(here.flatMap((s) => objects(s).flatMap((o) => Object.keys(o._zod.def.shape))))];
}

type Def = z.core.$ZodTypeDef & Record<string, unknown>;

/** The schema(s) wrapped by optional, default, transform and the like. */
function unwrap(s: z.core.$ZodType): z.core.$ZodType[] {
  const def = s._zod.def as Def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return unwrap(def.innerType as z.core.$ZodType);
    case 'pipe':
      return unwrap(def.in as z.core.$ZodType);
    case 'lazy':
      return unwrap((def.getter as () => z.core.$ZodType)());
    case 'union':
      return (def.options as z.core.$ZodType[]).flatMap(unwrap);
    default:
      return [s];
  }
}

function objects(s: z.core.$ZodType): z.core.$ZodObject[] {
  return unwrap(s).filter((u): u is z.core.$ZodObject => u._zod.def.type === 'object');
}

function step(s: z.core.$ZodType, seg: PropertyKey): z.core.$ZodType[] {
  return unwrap(s).flatMap((u) => {
    const def = u._zod.def as Def;
    if (def.type === 'object') {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      return typeof seg === 'string' && seg in shape ? [shape[seg]!] : [];
    }
    if (def.type === 'array' && typeof seg === 'number') return [def.element as z.core.$ZodType];
    if (def.type === 'record') return [def.valueType as z.core.$ZodType];
    return [];
  });
}

/** Edits (insert, delete, substitute) between two words; one row at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `word`, if it is a plausible typo of it: at most one edit for short
 * words, two up to eight letters, three beyond (otherwise any short key would "match" any other).
 * Case and `-`/`_` are ignored first: `Health-Check` is `health_check`.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (w: string) => w.toLowerCase().replace(/-/g, '_');
  const w = norm(word);
  const limit = w.length <= 4 ? 1 : w.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(w, norm(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
