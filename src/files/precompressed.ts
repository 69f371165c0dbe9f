/**
 * Precompressed sidecars (Caddy file_server `precompressed`, nginx gzip_static): FILE.br,
 * FILE.zst and FILE.gz are served instead of FILE when the client accepts that coding. No
 * compression happens at run time. The choice follows Accept-Encoding as on-the-fly
 * compression reads it (src/http/accept-encoding.ts): q=0 refuses a coding, a higher q wins,
 * ties go to the configured order; identity competes when the client weighs it, so
 * "gzip;q=0.5, identity" gets the plain file. A file served with a sidecar carries
 * Content-Encoding, so a route's compression filter passes it as it is.
 */
import type { ContentCoding } from '../http/accept-encoding.js';

export { codingChooser, type CodingChooser } from '../http/accept-encoding.js';

export type Coding = ContentCoding;

export const SIDECAR_SUFFIX: Readonly<Record<Coding, string>> = { br: '.br', zstd: '.zst', gzip: '.gz' };
