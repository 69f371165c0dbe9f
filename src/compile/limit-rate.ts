/**
 * A route's `limit_rate`, compiled once into what the filter reads per request
 * (src/filters/limit-rate.ts): a fixed size is a constant, a template is read and parsed per
 * request (not a size: 0, as nginx's ngx_http_complex_value_size). A route whose steps
 * `set: limit_rate` gets the filter even without a limit of its own (rate 0 unless set).
 */
import type { LimitRateConfig } from '../config/limit-rate-schema.js';
import { parseSize } from '../config/size.js';
import { compileTemplate } from '../http/template.js';
import type { Exchange } from '../http/exchange.js';
import type { LimitRatePolicy } from '../filters/limit-rate.js';

const NONE = (): number => 0;

export function compileLimitRate(cfg: LimitRateConfig | undefined, stepsSetRate: boolean): LimitRatePolicy | null {
  if (cfg === undefined) return stepsSetRate ? { rate: NONE, after: NONE } : null;
  const rate = sizeOf(cfg.rate);
  // A fixed rate of 0 is no limit, unless a step may set one.
  if (rate === NONE && !stepsSetRate) return null;
  return { rate, after: sizeOf(cfg.after) };
}

function sizeOf(value: number | string): (ex: Exchange) => number {
  if (typeof value === 'number') {
    if (value === 0) return NONE;
    return () => value;
  }
  const template = compileTemplate(value);
  return (ex) => sizeText(template(ex));
}

/** nginx's reading of a size a variable gave: bytes, or 0 for text that is not one. */
export function sizeText(text: string): number {
  const n = parseSize(text);
  return Number.isFinite(n) ? n : 0;
}
