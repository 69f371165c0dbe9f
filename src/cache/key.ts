/**
 * Cache keys (nginx proxy_cache_key) and where an entry lives on disk. As nginx: the MD5 of the
 * key in hex names the file, and `levels` take subdirectory names from the end of that name,
 * so "1:2" puts b7f54b2df7773722d382f4809d65029c at c/29/b7f54b2df7773722d382f4809d65029c
 * (https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_cache_path). MD5 is a
 * spreading function here, not a defence: the whole key is stored in the entry and compared
 * on every use, so two keys with one hash never serve each other's response.
 */
import { hash } from 'node:crypto';
import { join } from 'node:path';
import { compileTemplate, type Template } from '../http/template.js';

/** 32 lower-case hex digits. */
export function keyHash(key: string): string {
  return hash('md5', key, 'hex');
}

/** "1:2" -> [1, 2]; "" -> []. */
export function parseLevels(levels: string): number[] {
  return levels === '' ? [] : levels.split(':').map(Number);
}

/** The subdirectories of an entry, outermost first ("c/29" for levels 1:2). */
export function levelDirs(hash: string, levels: readonly number[]): string[] {
  const out: string[] = [];
  let end = hash.length;
  for (const n of levels) {
    out.push(hash.slice(end - n, end));
    end -= n;
  }
  return out;
}

export function entryPath(dir: string, levels: readonly number[], hash: string): string {
  return levels.length === 0 ? join(dir, hash) : join(dir, ...levelDirs(hash, levels), hash);
}

/** Portico's default: the client's host is part of the key, since Host goes upstream unchanged. */
export const DEFAULT_KEY = '{scheme}://{host}{uri}';

/**
 * The route's key as a template: Portico's placeholders (src/http/template.ts), and
 * {proxy_host}, nginx's $proxy_host, the upstream as the route names it, a constant.
 */
export function compileKey(text: string, proxyHost: string): Template {
  return compileTemplate(text.replaceAll('{proxy_host}', proxyHost), { context: 'internal' });
}
