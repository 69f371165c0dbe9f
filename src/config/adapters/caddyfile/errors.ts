/**
 * `handle_errors [<status codes>] { ... }` (https://caddyserver.com/docs/caddyfile/directives/handle_errors):
 * the routes Caddy runs when a handler fails. Portico has no error routes, but for the errors a
 * Caddyfile raises itself with `error`, both the status and the message are known when the
 * config is read: the error route's `respond` is written into the route that raises it, with
 * the status of the error unless it gives its own (as Caddy keeps it) and `{err.status_code}`,
 * `{err.status_text}` and `{err.message}` filled in. Errors Portico makes itself (a missing
 * file's 404, a failed upstream's 502) still get Portico's own page: said once per block.
 * Blocks with codes come before those without, as Caddy sorts them.
 */
import { STATUS_CODES } from 'node:http';
import type { Directive } from './parser.js';
import type { CaddyContext } from './context.js';
import { routesOf, type Candidate } from './routes.js';
import { covers } from './matchers.js';

interface ErrorBlock {
  d: Directive;
  codes: (status: number) => boolean;
  specific: boolean;
  candidates: Candidate[];
}

export function errorBlocks(dirs: readonly Directive[], ctx: CaddyContext): ErrorBlock[] {
  const out: ErrorBlock[] = [];
  for (const d of dirs) {
    if (d.name !== 'handle_errors') continue;
    const tests: ((s: number) => boolean)[] = [];
    for (const a of d.args) {
      const m = /^([1-5])(?:(\d\d)|xx)$/i.exec(a.text);
      if (!m) ctx.diag.error(d, `handle_errors: expected status codes such as 404 or 5xx, got "${a.text}"`);
      else if (m[2] !== undefined) tests.push((s) => s === Number(a.text));
      else tests.push((s) => Math.floor(s / 100) === Number(m[1]));
    }
    const candidates = routesOf(d.block ?? [], { ...ctx, inErrors: true }, { siteLevel: false, ordered: false }).candidates;
    ctx.diag.warn(d, "handle_errors: carried over for the errors this Caddyfile raises with error; errors Portico makes itself (a missing file's 404, a failed upstream's 502...) get Portico's own page");
    out.push({ d, codes: tests.length === 0 ? () => true : (s) => tests.some((t) => t(s)), specific: tests.length > 0, candidates });
  }
  return [...out.filter((b) => b.specific), ...out.filter((b) => !b.specific)];
}

/** The site's candidates with each `error` route answered as its handle_errors block says. */
export function applyErrorBlocks(candidates: Candidate[], blocks: readonly ErrorBlock[], ctx: CaddyContext): Candidate[] {
  if (blocks.length === 0) return candidates;
  const out: Candidate[] = [];
  for (const c of candidates) {
    const status = (c.handler.respond as { status?: number } | undefined)?.status;
    if (c.d.name !== 'error' || status === undefined) {
      out.push(c);
      continue;
    }
    const block = blocks.find((b) => b.codes(status));
    if (!block) {
      out.push(c);
      continue;
    }
    const message = errorMessage(c.d);
    let done = false;
    for (const e of block.candidates) {
      if (done) break;
      const whole = covers(e.pattern, c.pattern);
      const narrower = !whole && covers(c.pattern, e.pattern);
      if (!whole && !narrower) {
        if (e.pattern.kind === 'regex' || c.pattern.kind === 'regex') ctx.diag.warn(e.d, `handle_errors: Portico cannot tell whether this route overlaps the error at line ${c.d.line}; not applied there`);
        continue;
      }
      const handler = errorHandler(e, status, message, ctx);
      if (!handler) {
        done = whole;
        continue;
      }
      out.push({ ...c, pattern: whole ? c.pattern : e.pattern, handler, state: { ...c.state, match: joinSets(c.state.match, e.state.match) } });
      if (whole && !e.state.match) done = true;
    }
    if (!done) out.push(c);
  }
  return out;
}

function joinSets<T extends object>(a: T | undefined, b: T | undefined): T | undefined {
  if (!a) return b;
  if (!b) return a;
  return { all: [a, b] } as T;
}

/** A directive's arguments after its matcher token (`*`, `/path`, `@name`). */
function afterMatcher(d: Directive): Directive['args'] {
  const first = d.args[0];
  return first && !first.quoted && (first.text === '*' || first.text.startsWith('/') || first.text.startsWith('@')) ? d.args.slice(1) : d.args;
}

/** `error [<message>] <status>`: the message, or "" when only a status is given. */
function errorMessage(d: Directive): string {
  const args = afterMatcher(d);
  return args.length > 1 || (args[0] && !/^\d{3}$/.test(args[0].text)) ? args[0]!.text : '';
}

/** An error route's response for this error, or undefined (warned) when it is not a plain respond. */
function errorHandler(e: Candidate, status: number, message: string, ctx: CaddyContext): Record<string, unknown> | undefined {
  const respond = e.handler.respond as { status: number; body?: string } | undefined;
  if (!respond || e.state.rewrite.length > 0) {
    ctx.diag.warn(e.d, `handle_errors: only respond is carried over; this ${e.d.name} is left out, and the error gets Portico's own page`);
    return undefined;
  }
  // Caddy keeps the error's status unless respond gives one (`respond 404`, `respond "body" 404`).
  const [a, b] = afterMatcher(e.d);
  const explicit = (a !== undefined && !a.quoted && /^\d{3}$/.test(a.text)) || (b !== undefined && /^\d{3}$/.test(b.text));
  const fill = (text: string) =>
    text.replace(/\{(?:err|http\.error)\.(status_code|status_text|message)\}/g, (_, k: string) => (k === 'status_code' ? String(status) : k === 'status_text' ? (STATUS_CODES[status] ?? '') : message));
  const body = respond.body === undefined ? undefined : fill(respond.body);
  return { respond: { status: explicit ? respond.status : status, ...(body ? { body } : {}) } };
}
