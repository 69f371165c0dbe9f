/**
 * Config adapters: foreign formats (nginx.conf, Caddyfile) -> Portico's canonical config as a
 * plain object (what a portico.yaml would hold), plus warnings for what could not be carried
 * over. Adapters only translate; validation and everything after is the same as for YAML.
 * The core never imports this folder; `config/load.ts` picks an adapter by name or content.
 */
export interface AdaptResult {
  /** The canonical config, before validation and defaults. */
  config: Record<string, unknown>;
  /** "file:line:col: what was not carried over". */
  warnings: string[];
}

export type AdapterName = 'nginx' | 'caddyfile' | 'yaml';

export interface AdaptOptions {
  /** nginx's prefix (default root PREFIX/html). */
  nginxPrefix?: string;
}

export async function adapt(name: 'nginx' | 'caddyfile', text: string, file: string, options: AdaptOptions = {}): Promise<AdaptResult> {
  if (name === 'nginx') {
    const { adaptNginx } = await import('./nginx/index.js');
    return adaptNginx(text, file, { prefix: options.nginxPrefix });
  }
  const { adaptCaddyfile } = await import('./caddyfile/index.js');
  return adaptCaddyfile(text, file);
}

/**
 * Which format a file is in: by name first (nginx.conf, *.conf, sites-available files are
 * nginx; Caddyfile* is a Caddyfile; .yaml/.yml/.json are Portico's own), then by content.
 */
export function detectFormat(file: string, text: string): AdapterName {
  const base = file.split(/[\\/]/).pop()!.toLowerCase();
  if (/\.(ya?ml|json)$/.test(base)) return 'yaml';
  if (base.startsWith('caddyfile') || base.endsWith('.caddyfile') || base.endsWith('.caddy')) return 'caddyfile';
  if (base === 'nginx.conf' || base.endsWith('.conf') || base.endsWith('.nginx')) return 'nginx';
  return sniff(text);
}

function sniff(text: string): AdapterName {
  const code = text
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter((l) => l !== '');
  if (code.length === 0) return 'yaml';
  // YAML/JSON: a top-level Portico key, or a brace holding a quoted key.
  if (/^(servers|access_log|log_level|shutdown_timeout|workers|\$schema)\s*:/.test(code[0]!) || /^\{\s*"/.test(code[0]!)) return 'yaml';
  // nginx ends statements with ";" (before the end of a line or a "}"); a Caddyfile has none.
  return /;\s*(\}|$)/m.test(code.join('\n')) ? 'nginx' : 'caddyfile';
}
