/**
 * Every regex of the config that sees request data (location, rewrite, map key, server name)
 * is compiled here, once, under one policy: no request may make one run longer than linear in
 * its length.
 *  - The pattern is analyzed (ambiguity.ts). One that a backtracking engine runs in linear time
 *    at worst is compiled as usual (V8's irregexp: tens of nanoseconds a match).
 *  - One that can backtrack exponentially ("(\w+-?)+") stays in irregexp, and V8 hands a match
 *    to its linear-time engine once it has backtracked 50,000 times (engine.ts): an exponential
 *    search passes that count within a millisecond, and ordinary requests keep the fast engine.
 *  - One that can backtrack polynomially (".*a.*b" unanchored, "^/(.*)/(.*)/(.*)$") runs in the
 *    linear-time engine (the `l` flag) when the input is long: there the fallback does not help,
 *    as irregexp does not count the steps of a simple greedy loop as backtracks, and counts afresh
 *    at each start position of a search. That engine takes about 0.3 µs per character and
 *    active state (3 µs for a 20-character path), so an input short enough that n^degree stays
 *    under 2^18 steps (512 characters at degree 2, 64 at degree 3) still goes to irregexp.
 *    Both need a case-insensitive pattern rewritten without the `i` flag (case-fold.ts), which
 *    the linear engine does not take in Node 20.
 *  - One that starts with ^ and lookaheads, the shape the nginx adapter gives nested regex
 *    locations ("^(?!/a/b/)[\s\S]*?(?:\.php$)"), is split: each lookahead becomes a regex of its
 *    own, tested first at the start, and the rest, without them, may then run in the linear engine.
 *  - One that can backtrack and that the linear engine cannot run (lookaround, backreference, a
 *    count above 16) is refused, with what makes it slow: a limit that cannot be applied refuses
 *    the config. nginx runs such a pattern in PCRE until its match limit and answers 500.
 * The fallback also covers, as a second line, every pattern the analysis calls linear.
 *
 * V8's linear engine (Node 20) departs from ECMAScript in one place: a repetition whose body can
 * match the empty string ("(a*)+", "(x?){0,2}", "([ab]*?)?") may take an empty iteration that
 * the specification rejects, changing captures and even the match (/([ab]*?)?/ matches "a" in
 * "a"; the linear engine matches ""). Measured over 270,000 random pattern/input pairs: every
 * difference had such a repetition, none without. So such a pattern never runs there: it is
 * refused when it needs the linear engine, and kept from the fallback otherwise.
 */
import { LINEAR_ENGINE, LINEAR_FALLBACK } from './engine.js';
import { matchesEmpty, parseRegex, walk, type Node, type Parsed } from './syntax.js';
import { analyzeRegex, countAtoms, type Analysis } from './ambiguity.js';
import { foldCase } from './case-fold.js';

export interface SafeRegex {
  regex: RegExp;
  /** Character positions of its automaton: the linear engine's time grows with them times the input length. */
  states: number;
  /** The flags it was compiled with ("l": the linear engine; RegExp#flags omits "l" when the engine was enabled at run time). */
  flags: string;
  /** Set when a backtracking engine could take more than linear time. */
  backtracking: Analysis | undefined;
  /** irregexp; irregexp that V8 moves to the linear engine after 50,000 backtracks; the linear engine. */
  engine: 'backtracking' | 'fallback' | 'linear';
}

const compiled = new Map<string, SafeRegex | Error>();

/** Above this many character positions `check` says that the linear engine itself gets slow. */
const LARGE_STATES = 24;

/** log2 of the steps a polynomial pattern may take in irregexp on a short input (~0.3 ms). */
const SHORT_INPUT_STEPS = 18;

/** Compiles `source` (JavaScript syntax) or throws an Error whose message says why it cannot be used. */
export function compileSafeRegex(source: string, ignoreCase: boolean): SafeRegex {
  const key = (ignoreCase ? 'i/' : '-/') + source;
  let result = compiled.get(key);
  if (result === undefined) {
    try {
      result = compile(source, ignoreCase);
    } catch (err) {
      result = err as Error;
    }
    compiled.set(key, result);
  }
  if (result instanceof Error) throw result;
  return result;
}

/** The problem with a pattern ("invalid regular expression: ...", or why it is refused), or undefined. */
export function regexProblem(source: string, ignoreCase: boolean): string | undefined {
  try {
    compileSafeRegex(source, ignoreCase);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** For `portico check`: what a pattern that runs in the linear engine would cost a backtracking one. */
export function backtrackingWarning(source: string, ignoreCase: boolean): string | undefined {
  let safe: SafeRegex;
  try {
    safe = compileSafeRegex(source, ignoreCase);
  } catch {
    return undefined;
  }
  const b = safe.backtracking;
  if (b === undefined) return undefined;
  let how =
    safe.engine === 'fallback'
      ? `V8 moves such a match to its linear-time engine after 50,000 backtracks`
      : `Portico runs it in V8's linear-time engine on long requests, which takes 10 to 100 times longer per match than a pattern that cannot backtrack`;
  // Measured: (.*a){16} (32 positions) took 50-70 ms on 8 KiB in that engine, ^/api/(\w+-?)+/$ 4 ms.
  if (safe.states > LARGE_STATES) how += `; with ${safe.states} character positions, a crafted request near the length limits can take tens of milliseconds or more there`;
  return `could take ${cost(b.degree)} on a crafted request in a backtracking engine such as nginx's PCRE (${b.reason}); ${how}`;
}

function compile(source: string, ignoreCase: boolean): SafeRegex {
  let plain: RegExp;
  try {
    plain = new RegExp(source, ignoreCase ? 'i' : '');
  } catch (err) {
    throw new Error(`invalid regular expression: ${(err as Error).message}`);
  }
  let parsed: Parsed | undefined;
  try {
    parsed = parseRegex(source);
  } catch {
    parsed = undefined; // a syntax this parser does not follow: treated as the worst case
  }
  const analysis: Analysis = parsed ? analyzeRegex(parsed, source, ignoreCase) : { degree: Infinity, reason: 'its syntax could not be analyzed' };
  // Without `i`, the linear engine can take over a match that backtracks too much (engine.ts).
  const folded = !ignoreCase ? source : parsed ? foldCase(parsed, source) : undefined;
  // Unparsed, it may hold one: kept from the linear engine.
  const emptyRepeat = parsed ? repeatOfEmpty(parsed, source) : source;
  const states = parsed ? countAtoms(parsed.root) : source.length;
  if (analysis.degree <= 1) {
    if (folded === undefined) return { regex: plain, flags: plain.flags, backtracking: undefined, engine: 'backtracking', states };
    // An empty lookahead, which the linear engine cannot run, keeps V8's fallback away from it.
    return { regex: new RegExp(emptyRepeat ? `(?:${folded})(?=)` : folded), flags: '', backtracking: undefined, engine: 'backtracking', states };
  }
  if (folded !== undefined && LINEAR_ENGINE && emptyRepeat === undefined) {
    let linear: RegExp | undefined;
    try {
      linear = new RegExp(folded, 'l');
    } catch {
      // refused below, with the reason
    }
    // The fallback takes exactly the patterns the `l` flag accepts.
    if (linear && analysis.degree === Infinity && LINEAR_FALLBACK) return { regex: new RegExp(folded), flags: '', backtracking: analysis, engine: 'fallback', states };
    if (linear) {
      const safe: SafeRegex = { regex: linear, flags: 'l', backtracking: analysis, engine: 'linear', states };
      const short = Math.floor(2 ** (SHORT_INPUT_STEPS / analysis.degree));
      if (short < 16) return safe;
      const fast = new RegExp(folded);
      return { ...safe, regex: new ChoosingRegExp(safe, (input) => (input.length <= short ? fast : linear).exec(input)) };
    }
  }
  const split = parsed ? splitGuards(parsed, source, ignoreCase) : undefined;
  if (split) return split;
  throw new Error(
    `the regular expression could take ${cost(analysis.degree)} on a crafted request (${analysis.reason}), ` +
      `and the linear-time engine cannot run it (${whyNotLinear(parsed, ignoreCase)}); ` +
      `anchor it with ^, keep repeated parts from matching the same text, or drop the lookaround or backreference`,
  );
}

function cost(degree: number): string {
  if (degree === Infinity) return 'exponential time';
  if (degree === 2) return 'quadratic time';
  if (degree === 3) return 'cubic time';
  return `time growing as its length to the power ${degree}`;
}

/** The source of a repetition whose body can match the empty string, if there is one. */
function repeatOfEmpty(parsed: Parsed, source: string): string | undefined {
  let found: string | undefined;
  walk(parsed.root, (n) => {
    if (found === undefined && n.type === 'repeat' && n.max > n.min && matchesEmpty(n.body)) found = source.slice(n.start, n.end);
  });
  return found;
}

function whyNotLinear(parsed: Parsed | undefined, ignoreCase: boolean): string {
  if (!LINEAR_ENGINE) return 'this Node.js has no linear-time regex engine';
  if (!parsed) return 'it could not be analyzed';
  const found = new Set<string>();
  walk(parsed.root, (n: Node) => {
    if (n.type === 'look') found.add('a lookaround');
    if (n.type === 'backref') found.add(ignoreCase ? 'a backreference in a case-insensitive pattern' : 'a backreference');
    if (n.type === 'repeat' && ((n.max !== Infinity && n.max > 16) || n.min > 16)) found.add('a repetition count above 16');
  });
  const empty = repeatOfEmpty(parsed, parsed.source);
  if (empty !== undefined) found.add(`\`${empty}\`, a repetition of a part that can match nothing, which that engine does not match as JavaScript does`);
  return found.size > 0 ? `it has ${[...found].join(' and ')}` : 'V8 does not accept it';
}

/**
 * "^(?=A)(?!B)REST" as three regexes: /^(?:A)/ must match, /^(?:B)/ must not, then /^REST/.
 * The same thing, because lookaheads at the start look at the same place and consume nothing;
 * only taken when the lookaheads hold no capture group (REST keeps its group numbers), and each
 * part is compiled (and judged) on its own. undefined when the shape does not fit or a part is refused.
 */
function splitGuards(parsed: Parsed, source: string, ignoreCase: boolean): SafeRegex | undefined {
  const root = parsed.root;
  if (root.type !== 'seq' || root.items[0]?.type !== 'assert' || root.items[0].text !== '^') return undefined;
  const looks: { body: Node; negate: boolean }[] = [];
  let end = root.items[0].end;
  for (const item of root.items.slice(1)) {
    if (item.type !== 'look' || item.behind) break;
    let captures = false;
    walk(item.body, (n) => (captures ||= n.type === 'group' && n.index !== undefined));
    if (captures) return undefined;
    looks.push({ body: item.body, negate: item.negate });
    end = item.end;
  }
  if (looks.length === 0) return undefined;
  try {
    const parts = looks.map((g) => ({ safe: compileSafeRegex(`^(?:${source.slice(g.body.start, g.body.end)})`, ignoreCase), negate: g.negate }));
    const main = compileSafeRegex(`^${source.slice(end)}`, ignoreCase);
    const worst = [main, ...parts.map((p) => p.safe)].map((s) => s.backtracking).filter((b) => b !== undefined);
    const guards = parts.map((p) => ({ regex: p.safe.regex, negate: p.negate }));
    return {
      regex: new ChoosingRegExp(main, (input) => {
        for (const g of guards) if (g.regex.test(input) === g.negate) return null;
        return main.regex.exec(input);
      }),
      flags: main.flags,
      backtracking: worst.sort((a, b) => b.degree - a.degree)[0],
      engine: [main, ...parts.map((p) => p.safe)].some((s) => s.engine === 'linear') ? 'linear' : main.engine,
      states: main.states,
    };
  } catch {
    return undefined;
  }
}

/**
 * A RegExp whose match is made by other regexes, chosen per input: the callers (location table,
 * rewrites, maps, host table) only call exec() and test(), and test() goes through exec().
 */
class ChoosingRegExp extends RegExp {
  readonly #exec: (input: string) => RegExpExecArray | null;

  constructor(like: SafeRegex, exec: (input: string) => RegExpExecArray | null) {
    super(like.regex.source, like.flags);
    this.#exec = exec;
  }

  override exec(input: string): RegExpExecArray | null {
    return this.#exec(input);
  }
}
