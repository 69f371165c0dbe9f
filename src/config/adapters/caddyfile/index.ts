import type { AdaptResult } from '../adapter.js';

export function adaptCaddyfile(_text: string, _file: string): AdaptResult {
  throw new Error('not yet');
}
