/**
 * Sizes in the config: a number of bytes, or "64k", "10m", "1g" (nginx's suffixes, which are
 * binary: k = 1024) and the explicit "64KiB", "10MiB", "1GiB". "10MB" is read as 10 MiB too,
 * as nginx does; a config that needs decimal megabytes can write the bytes.
 */
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i;
const FACTOR: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes for a size text or number; NaN when the text is not a size. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = SIZE.exec(value.trim());
  if (!m) return NaN;
  const unit = (m[2] ?? '').toLowerCase().charAt(0);
  return Math.floor(Number(m[1]) * FACTOR[unit]!);
}

export function isSize(text: string): boolean {
  return SIZE.test(text.trim());
}

