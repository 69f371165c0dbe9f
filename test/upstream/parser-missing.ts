/**
 * Preloaded (node --import) by client-choice.test.ts: a node whose `_http_common` offers no
 * HTTPParser, as a node that dropped it (DEP0199) would be. node's own http server and client
 * keep theirs: they took it when they loaded, which happens here first.
 */
import 'node:http';
import { createRequire } from 'node:module';

const common = createRequire(import.meta.url)('_http_common') as { HTTPParser?: unknown };
delete common.HTTPParser;
