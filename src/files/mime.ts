/**
 * Content-Type by file extension from mime-db (through `mime-types`, the table Express and
 * `send` use), with "; charset=utf-8" for the types mime-db marks as text (text/*, JSON,
 * JavaScript, ...). Unknown extensions are application/octet-stream (nginx default_type).
 * Looked up once per extension.
 */
import { extname } from 'node:path';
import { charset, lookup } from 'mime-types';

const DEFAULT_TYPE = 'application/octet-stream';
const byExtension = new Map<string, string>();

export function contentTypeOf(path: string): string {
  const ext = extname(path).toLowerCase();
  let type = byExtension.get(ext);
  if (type === undefined) {
    const found = ext === '' ? false : lookup(ext);
    type = found === false ? DEFAULT_TYPE : found;
    if (found !== false && charset(found) === 'UTF-8') type += '; charset=utf-8';
    if (byExtension.size < 1000) byExtension.set(ext, type);
  }
  return type;
}
