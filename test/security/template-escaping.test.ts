/**
 * Request text escaped for where a template puts it (src/http/escape.ts, chosen per
 * placeholder by src/http/template.ts when the config is compiled): each escape on the
 * characters that matter, unchanged input returned as it is, and the contexts of a template
 * (header value, Location, internal rewrite path with its query, internal use).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldFromBytes, fieldFromText, pathFromText, queryFromText, uriFromBytes } from '../../src/http/escape.js';
import { compileTemplate } from '../../src/http/template.js';
import { Exchange } from '../../src/http/exchange.js';
import type { RequestHead } from '../../src/http/request.js';
import type { ResponseWriter } from '../../src/http/response-writer.js';
import { isFieldValue, isRequestTarget } from '../../src/http/head.js';

const CRLF_PATH = '/a\r\nX: y';

test('the escapes: controls, non-ASCII (UTF-8, a lone surrogate as U+FFFD) and the delimiters of each place', () => {
  assert.equal(fieldFromText(CRLF_PATH), '/a%0D%0AX: y');
  assert.equal(fieldFromText('/caf\u00e9 \u65e5\u{1F600}\t\0\x7f%'), '/caf%C3%A9 %E6%97%A5%F0%9F%98%80%09%00%7F%');
  assert.equal(fieldFromText('/\ud83d'), '/%EF%BF%BD');
  assert.equal(fieldFromBytes('a\tb caf\u00e9 \x01 \u0100'), 'a\tb caf\u00e9 %01 %C4%80');
  assert.equal(pathFromText('/a b?c#d%e[f]/g;h=i&j+k@l:m'), '/a%20b%3Fc%23d%25e%5Bf%5D/g;h=i&j+k@l:m');
  assert.equal(pathFromText(CRLF_PATH), '/a%0D%0AX:%20y');
  assert.equal(queryFromText('a&b=c+d;e?f#g%h /i'), 'a%26b=c%2Bd%3Be%3Ff%23g%25h%20/i');
  assert.equal(uriFromBytes('/a b%20?x=1&y#z"<>\\^`{|}\u00e9\r\n'), '/a%20b%20?x=1&y#z%22%3C%3E%5C%5E%60%7B%7C%7D%E9%0D%0A');
  for (const escape of [fieldFromText, fieldFromBytes, pathFromText, queryFromText, uriFromBytes]) {
    const plain = '/plain/path';
    assert.equal(escape(plain), plain);
    for (const nasty of [CRLF_PATH, '\0', '\u010d\u010a', '\ud800x']) {
      const out = escape(nasty);
      assert.ok(isFieldValue(out), `${escape.name}(${JSON.stringify(nasty)}) = ${JSON.stringify(out)} is a field value`);
      if (escape !== fieldFromText && escape !== fieldFromBytes) assert.ok(isRequestTarget(out), `${JSON.stringify(out)} can stand on a request line`);
    }
  }
});

function exchange(url: string, path: string, captures: string[] = []): Exchange {
  const req = { url, method: 'GET', headers: { 'x-h': 'v\u00e9' }, socket: { localPort: 8080 } } as unknown as RequestHead;
  const q = url.indexOf('?');
  const ex = new Exchange(req, {} as ResponseWriter, null, {}, '127.0.0.1', '127.0.0.1', 'https', false, 0, 'a.test:8080', path, q < 0 ? url : url.slice(0, q), q < 0 ? '' : url.slice(q));
  ex.captures = Object.assign([path, ...captures], { index: 0, input: path }) as unknown as RegExpExecArray;
  return ex;
}

test('template contexts: the same placeholders escaped for a header, a Location, a rewrite path and its query, or not at all', () => {
  const ex = exchange('/a%0d%0aX:%20y?q=1', CRLF_PATH, ['a\r\nb&c']);
  const text = '{scheme}://{host}{path}|{uri}|{re.1}?p={path}&c={re.1}&u={uri}&h={header.X-H}';
  assert.equal(
    compileTemplate(text, { context: 'header' })(ex),
    'https://a.test/a%0D%0AX: y|/a%0d%0aX:%20y?q=1|a%0D%0Ab&c?p=/a%0D%0AX: y&c=a%0D%0Ab&c&u=/a%0d%0aX:%20y?q=1&h=v\u00e9',
  );
  assert.equal(
    compileTemplate(text, { context: 'location' })(ex),
    'https://a.test/a%0D%0AX:%20y|/a%0d%0aX:%20y?q=1|a%0D%0Ab&c?p=/a%0D%0AX:%20y&c=a%0D%0Ab%26c&u=/a%0d%0aX:%20y?q=1&h=v%E9',
  );
  // An internal rewrite's path is decoded text (encoded again when proxied); its query is not.
  assert.equal(compileTemplate('/x{path}?p={path}&c={re.1}', { context: 'path' })(ex), `/x${CRLF_PATH}?p=/a%0D%0AX:%20y&c=a%0D%0Ab%26c`);
  assert.equal(compileTemplate('{path}{re.1}', { context: 'internal' })(ex), `${CRLF_PATH}a\r\nb&c`);
  assert.equal(compileTemplate('{path}{re.1}')(ex), `${CRLF_PATH}a\r\nb&c`, 'internal by default');
  assert.equal(compileTemplate('{unknown} {server_port}', { context: 'header' })(ex), '{unknown} 8080');
});
