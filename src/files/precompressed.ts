/**
 * Precompressed sidecars (Caddy file_server `precompressed`, nginx gzip_static): FILE.br,
 * FILE.zst and FILE.gz are served instead of FILE when the client accepts that coding. No
 * compression happens at run time. The choice follows Accept-Encoding (RFC 9110 §12.5.3):
 * q=0 refuses a coding, a higher q wins, ties go to the configured order; identity competes
 * when the client weighs it, so "gzip;q=0.5, identity" gets the plain file.
 */
export type Coding = 'br' | 'zstd' | 'gzip';

export const SIDECAR_SUFFIX: Readonly<Record<Coding, string>> = { br: '.br', zstd: '.zst', gzip: '.gz' };

export type CodingChooser = (acceptEncoding: string | undefined) => readonly Coding[];

/** Compiled per route: Accept-Encoding -> the configured codings to try, best first. */
export function codingChooser(configured: readonly Coding[]): CodingChooser {
  if (configured.length === 0) return () => NONE;
  // Browsers send a handful of distinct values; remember them.
  const memo = new Map<string, readonly Coding[]>();
  return (header) => {
    if (header === undefined || header === '') return NONE;
    let found = memo.get(header);
    if (found === undefined) {
      found = choose(header, configured);
      if (memo.size >= 64) memo.clear();
      memo.set(header, found);
    }
    return found;
  };
}

const NONE: readonly Coding[] = [];

function choose(header: string, configured: readonly Coding[]): readonly Coding[] {
  const q = new Map<string, number>();
  for (const item of header.split(',')) {
    const [name, ...params] = item.split(';');
    const token = name!.trim().toLowerCase();
    if (token === '') continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) weight = Number(m[1]);
    }
    if (Number.isNaN(weight)) continue;
    q.set(token === 'x-gzip' ? 'gzip' : token, weight);
  }
  const star = q.get('*');
  const weightOf = (c: string) => q.get(c) ?? star ?? 0;
  // Identity only competes when the client weighed it ("identity;q=1" or "*"): an unlisted
  // identity is acceptable but not preferred (a client sending "gzip;q=0.8" wants gzip).
  const identity = weightOf('identity');
  return configured
    .map((c, i) => ({ c, i, w: weightOf(c) }))
    .filter((x) => x.w > 0 && x.w >= identity)
    .sort((a, b) => b.w - a.w || a.i - b.i)
    .map((x) => x.c);
}
