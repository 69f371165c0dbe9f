/**
 * Preloaded (node --import) by client-choice.test.ts: a node whose parser behaves otherwise
 * than Portico relies on (execute() no longer stops where a head ends when onHeadersComplete
 * returns 2). node's own http server and client keep the real one.
 */
import 'node:http';
import { createRequire } from 'node:module';

interface Parser {
  execute(data: Buffer): number | Error;
}
const common = createRequire(import.meta.url)('_http_common') as { HTTPParser: new () => Parser };
const Real = common.HTTPParser;
common.HTTPParser = class extends Real {
  override execute(data: Buffer): number | Error {
    const r = super.execute(data);
    return typeof r === 'number' ? data.length : r;
  }
};
