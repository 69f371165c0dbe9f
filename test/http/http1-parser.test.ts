// Issue 13, item 4: node's HTTP parser is reached in one guarded file (src/http/http1-parser.ts)
// whose self-test, run at start, parses known messages with exactly the callbacks and return
// values Portico relies on. A parser that is missing or behaves otherwise is not used: the
// self-test names what differs, and Portico falls back to undici (test/upstream/client-choice.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HTTPParser,
  available,
  checkParser,
  methods,
  parserCheck,
  unavailableReason,
  type NodeHttpParser,
  type ParserConstructor,
} from '../../src/http/http1-parser.js';

const forced = process.env.PORTICO_UPSTREAM_CLIENT === 'undici';

test("node 20's parser passes the self-test; `available` follows it unless the fallback is forced", () => {
  assert.deepEqual(parserCheck, { ok: true, reason: '' });
  assert.ok(methods.includes('GET') && methods.includes('HEAD'));
  assert.equal(available, !forced);
  assert.equal(unavailableReason, forced ? 'PORTICO_UPSTREAM_CLIENT=undici' : '');
});

/** node's parser with one behaviour changed. */
function variant(change: (P: ParserConstructor) => ParserConstructor): ParserConstructor {
  return change(HTTPParser!);
}

const BROKEN: Record<string, { P: () => ParserConstructor | undefined; methods?: readonly string[]; reason: RegExp }> = {
  'no parser at all': { P: () => undefined, reason: /./ },
  'execute() does not stop at the end of the head when onHeadersComplete returns 2': {
    P: () =>
      variant(
        (P) =>
          class extends P {
            override execute(data: Buffer): ReturnType<NodeHttpParser['execute']> {
              const r = super.execute(data);
              return typeof r === 'number' ? data.length : r;
            }
          },
      ),
    reason: /returned 2/,
  },
  'header batches (more than 32 fields) are not delivered through kOnHeaders': {
    P: () => variant((P) => Object.defineProperty(class extends P {}, 'kOnHeaders', { value: 99 })),
    reason: /onHeaders|header fields/,
  },
  'the lenient flag for Transfer-Encoding + Content-Length is ignored': {
    P: () =>
      variant(
        (P) =>
          class extends P {
            override initialize(type: number, resource: object, maxHeaderSize: number): void {
              super.initialize(type, resource, maxHeaderSize, 0);
            }
          },
      ),
    reason: /lenient/,
  },
  'a parse error is not an Error with code and bytesParsed': {
    P: () =>
      variant(
        (P) =>
          class extends P {
            override execute(data: Buffer): ReturnType<NodeHttpParser['execute']> {
              const r = super.execute(data);
              return typeof r === 'number' ? r : 0;
            }
          },
      ),
    reason: /malformed response/,
  },
  'onMessageBegin is never called': {
    P: () => variant((P) => Object.defineProperty(class extends P {}, 'kOnMessageBegin', { value: 98 })),
    reason: /onMessageBegin/,
  },
  'a method table without the methods the lean path reads': { P: () => HTTPParser, methods: ['DELETE', 'GET'], reason: /method index|HEAD/ },
};

for (const [name, broken] of Object.entries(BROKEN)) {
  test(`the self-test refuses a parser whose behaviour differs: ${name}`, () => {
    const result = checkParser(broken.P(), broken.methods ?? methods);
    assert.equal(result.ok, false);
    assert.match(result.reason, broken.reason);
  });
}
