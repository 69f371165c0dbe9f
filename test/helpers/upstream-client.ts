/**
 * What this test process runs with: node's HTTP parser, or the undici fallback that
 * scripts/test.mjs forces (PORTICO_UPSTREAM_CLIENT=undici) for its second run of the proxy,
 * upstream and security tests. Tests assert the same guarantees under both; where the two
 * clients differ by design (docs/differences.md), the expectation names the client.
 */
import { available } from '../../src/http/http1-parser.js';

export { upstreamClient } from '../../src/upstream/pool.js';

/** Whether plain HTTP/1.1 GETs are answered on the lean path (it needs node's parser). */
export const leanPath = available && process.env.PORTICO_LEAN_H1 !== '0';
