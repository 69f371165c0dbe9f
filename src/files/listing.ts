/**
 * Directory listings (nginx autoindex, Caddy browse), off unless the route asks: an HTML page
 * with every name escaped, or JSON. Names are links relative to the directory's URL.
 */
import type { DirEntry } from './fs-binding.js';

export interface ListedEntry {
  name: string;
  /** Relative link: the name percent-encoded, "/" appended for directories. */
  url: string;
  is_dir: boolean;
  size: number;
  /** ISO 8601. */
  mod_time: string;
}

export function listedEntries(entries: readonly DirEntry[]): ListedEntry[] {
  return entries.map((e) => {
    const isDir = e.stat.kind === 'dir';
    return {
      name: e.name,
      url: './' + encodeURIComponent(e.name) + (isDir ? '/' : ''),
      is_dir: isDir,
      size: isDir ? 0 : e.stat.size,
      mod_time: new Date(e.stat.mtimeMs).toISOString(),
    };
  });
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export function listingHtml(urlPath: string, entries: readonly ListedEntry[]): string {
  const title = escapeHtml(`Index of ${urlPath}`);
  const rows = entries.map(
    (e) =>
      `<tr><td><a href="${escapeHtml(e.url)}">${escapeHtml(e.name)}${e.is_dir ? '/' : ''}</a></td>` +
      `<td>${e.is_dir ? '-' : e.size}</td><td>${e.mod_time}</td></tr>`,
  );
  const up = urlPath === '/' ? '' : '<tr><td><a href="../">../</a></td><td></td><td></td></tr>';
  return (
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n` +
    `<table><thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead><tbody>\n${up}${rows.join('\n')}\n</tbody></table>\n</body></html>\n`
  );
}

export function listingJson(entries: readonly ListedEntry[]): string {
  return JSON.stringify(entries);
}
