/**
 * Durations in the config: "500ms", "30s", "2m", "1h", "1m30s", or a bare number of seconds
 * (nginx's convention, so `read_timeout: 60` reads like `proxy_read_timeout 60`).
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

/** Milliseconds for a duration string or a number of seconds; NaN when the text is not a duration. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value * 1000;
  if (!DURATION.test(value)) return NaN;
  let total = 0;
  for (const [, n, unit] of value.matchAll(PART)) total += Number(n) * UNIT_MS[unit!]!;
  return total;
}
