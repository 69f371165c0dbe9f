/**
 * How a backtracking engine's work on one pattern can grow with the input's length n, decided
 * from the pattern alone. A backtracking matcher (V8's irregexp, PCRE) explores every way the
 * pattern can match a prefix of the input before it gives up, so its worst case is the
 * pattern's ambiguity: the number of paths its NFA has for one string. The classic results
 * (Weber & Seidl 1991; Allauzen, Mohri & Rastogi 2008; Weideman et al. 2016, "Analyzing matching
 * time behavior of backtracking regular expression matchers by using ambiguity of NFA") give:
 *  - exponential ambiguity (EDA): a state with two different loops on the same string, as in
 *    (a|a)*, (\w+-?)+, (.*a)+: exponential time;
 *  - polynomial ambiguity of degree d (IDA): d loops in a row that can each take the same
 *    string, as in \d+\d+ (d = 1) or .*.*.* (d = 2): time n^(d+1);
 *  - otherwise at most linear time per start position, constant without any loop.
 * An unanchored search tries every start position: one degree more.
 *
 * The NFA is Glushkov's (one state per character atom, no ε-moves), with path multiplicities
 * kept so that two empty ways between two atoms count twice. Everything the analysis cannot
 * follow makes the result larger, never smaller: assertions and lookarounds are taken as
 * always true, a backreference as a copy of its group, a too large pattern as exponential.
 * Two refinements keep common patterns out of false alarms: a state from which the match can
 * end with no further condition ("/static/.*", "^/(.*)/(.*)") ends the search the first time
 * it fails, so its outgoing moves cannot multiply work; and a pattern that starts with ^ (or
 * can match the empty string at once) is tried at one start position only.
 */
import { intersect, intersects, nodeSet, sameSet, type CharSet } from './charset.js';
import type { Node, Parsed } from './syntax.js';

export interface Analysis {
  /** Steps grow like n^degree with the input length n: 0 constant, 1 linear, Infinity exponential. */
  degree: number;
  /** What makes it grow, quoted from the pattern ("`(\w+-?)+` can match the same text in many ways"). */
  reason: string | undefined;
}

/** The NFA and product searches stop here; a larger pattern is reported as exponential, to be safe. */
const MAX_STATES = 4000;
const MAX_STEPS = 2_000_000;

class TooComplex extends Error {}

export function analyzeRegex(parsed: Parsed, source: string, ignoreCase: boolean): Analysis {
  const budget = { steps: 0 };
  try {
    const bits = countedBits(parsed.root, source, ignoreCase, budget);
    if (bits.bits > MAX_COUNTED_BITS) return { degree: Infinity, reason: `${bits.culprit} can match the same text in about 2^${Math.round(bits.bits)} ways` };
    return analyzePart(parsed.root, source, ignoreCase, { lookbehind: false, budget }).total;
  } catch (err) {
    if (!(err instanceof TooComplex)) throw err;
    return { degree: Infinity, reason: 'it is too large to analyze' };
  }
}

interface Budget {
  steps: number;
}

function spend(budget: Budget, n: number): void {
  budget.steps += n;
  if (budget.steps > MAX_STEPS) throw new TooComplex();
}

/** The degree per start position, and the total for a search (both include lookarounds). */
function analyzePart(
  root: Node,
  source: string,
  ignoreCase: boolean,
  opts: { lookbehind: boolean; budget: Budget },
): { perAttempt: Analysis; total: Analysis } {
  const b = new Builder(source, ignoreCase, opts.budget);
  const frag = b.build(root, false);
  const graph = b.graph(frag, !opts.lookbehind);
  let perAttempt = degreeOf(graph, b, opts.budget);
  const oneStart = anchoredAtStart(root) || frag.clean;
  let total = oneStart ? perAttempt : searched(perAttempt);
  // A lookaround runs its own match each time the matcher reaches it: at one place per attempt
  // when no loop comes before it, else once per step of the attempt.
  for (const look of b.looks) {
    const inner = analyzePart(look.node.body, source, ignoreCase, { lookbehind: look.node.behind, budget: opts.budget }).perAttempt;
    if (inner.degree === 0) continue;
    const text = `\`${source.slice(look.node.start, look.node.end)}\``;
    const withLook: Analysis = look.afterLoop
      ? { degree: perAttempt.degree + inner.degree, reason: `the lookaround ${text} runs again at every step, and in it ${inner.reason}` }
      : { degree: inner.degree, reason: `in the lookaround ${text}, ${inner.reason}` };
    if (withLook.degree > perAttempt.degree) perAttempt = withLook;
    const t = oneStart ? withLook : searched(withLook);
    if (t.degree > total.degree) total = t;
  }
  if (total.degree <= 1) total = { degree: total.degree, reason: undefined };
  return { perAttempt, total };
}

/** An unanchored search: the attempt is made from every start position. */
function searched(a: Analysis): Analysis {
  if (a.degree === 0) return { degree: 1, reason: undefined };
  return { degree: a.degree + 1, reason: a.degree === 1 ? `it is not anchored with ^, and from every start position ${a.reason}` : a.reason };
}

/**
 * Counted repetition multiplies paths without any loop: (a?){25}a{25} has 2^25 ways to fail
 * on 25 a's. Roughly log2 of the ways, from every x{m,n} whose body, taken twice, is
 * ambiguous (one bit per repetition), multiplied by enclosing counts and added along a sequence.
 * The linear engine's fallback (engine.ts) covers such patterns up to its count limit of 16;
 * above this many bits a pattern is treated as exponential.
 */
const MAX_COUNTED_BITS = 16;

function countedBits(node: Node, source: string, ignoreCase: boolean, budget: Budget): { bits: number; culprit: string | undefined } {
  switch (node.type) {
    case 'seq': {
      let bits = 0;
      let culprit: string | undefined;
      for (const item of node.items) {
        const b = countedBits(item, source, ignoreCase, budget);
        bits += b.bits;
        culprit ??= b.culprit;
      }
      return { bits, culprit };
    }
    case 'alt':
      return node.options.map((o) => countedBits(o, source, ignoreCase, budget)).reduce((a, b) => (b.bits > a.bits ? b : a), { bits: 0, culprit: undefined });
    case 'group':
    case 'look':
      return countedBits(node.body, source, ignoreCase, budget);
    case 'repeat': {
      const inner = countedBits(node.body, source, ignoreCase, budget);
      if (node.max === Infinity || node.max < 2) return inner;
      const own = ambiguousTwice(node, source, ignoreCase, budget) ? 1 : 0;
      const bits = node.max * (own + inner.bits);
      return { bits, culprit: inner.culprit ?? (own ? `\`${source.slice(node.start, node.end)}\`` : undefined) };
    }
    default:
      return { bits: 0, culprit: undefined };
  }
}

/** Whether two iterations in a row of a counted repeat can match one string in two ways. */
function ambiguousTwice(node: Extract<Node, { type: 'repeat' }>, source: string, ignoreCase: boolean, budget: Budget): boolean {
  const b = new Builder(source, ignoreCase, budget);
  // Iterations past the minimum may not be empty (ECMAScript RepeatMatcher).
  const once = (mayBeEmpty: boolean) => {
    const f = b.build(node.body, false);
    return mayBeEmpty ? f : { ...f, nullable: 0 };
  };
  const frag = b.concat(once(node.min >= 1), once(node.min >= 2));
  if (frag.nullable > 1 || [...frag.first.values(), ...frag.last.values()].some((n) => n > 1)) return true;
  if (b.follow.some((m) => [...m.values()].some((n) => n > 1))) return true;
  // Pairs of paths over the same string, from the start: ambiguous if two that differ both reach the end.
  const n = b.sets.length;
  const succ = (s: number) => (s === 0 ? [...frag.first.keys()] : [...b.follow[s]!.keys()]);
  const seen = new Set<number>();
  const queue: [number, number, boolean][] = [[0, 0, false]];
  while (queue.length > 0) {
    const [u, v, differ] = queue.pop()!;
    if (differ && frag.last.has(u) && frag.last.has(v)) return true;
    for (const u2 of succ(u)) {
      for (const v2 of succ(v)) {
        spend(budget, 1);
        if (!b.compatible(u2, v2)) continue;
        const d = differ || u2 !== v2;
        const k = (u2 * n + v2) * 2 + (d ? 1 : 0);
        if (seen.has(k)) continue;
        seen.add(k);
        queue.push([u2, v2, d]);
      }
    }
  }
  return false;
}

/** Whether every match must start at the beginning of the input (^ first, no `m` flag). */
export function anchoredAtStart(node: Node): boolean {
  switch (node.type) {
    case 'assert':
      return node.text === '^';
    case 'seq':
      for (const item of node.items) {
        if (anchoredAtStart(item)) return true;
        if (!zeroWidth(item)) return false;
      }
      return false;
    case 'alt':
      return node.options.every(anchoredAtStart);
    case 'group':
      return anchoredAtStart(node.body);
    case 'repeat':
      return node.min >= 1 && anchoredAtStart(node.body);
    default:
      return false;
  }
}

function zeroWidth(node: Node): boolean {
  return node.type === 'assert' || node.type === 'look' || node.type === 'empty';
}

// ---------------------------------------------------------------- Glushkov construction

interface Frag {
  /** Ways to match the empty string (capped at 2). */
  nullable: number;
  /** Positions that can come first / last, with their multiplicities (capped at 2). */
  first: Map<number, number>;
  last: Map<number, number>;
  /** Whether it can match the empty string without any assertion, lookaround or backreference. */
  clean: boolean;
  /** Last positions after which the rest of this part can be skipped cleanly. */
  lastClean: Set<number>;
  /**
   * ^ and $ (no `m` flag) cut paths: no path reaches a first position after something was
   * consumed (`atStart`: a ^ comes before each), none goes on from a last one (`atEnd`), or
   * every empty match passes a ^ (`emptyAtStart`) or a $ (`emptyAtEnd`). True when vacuous.
   */
  atStart: boolean;
  atEnd: boolean;
  emptyAtStart: boolean;
  emptyAtEnd: boolean;
}

const cap = (n: number) => (n > 2 ? 2 : n);

function emptyFrag(clean: boolean, anchor?: '^' | '$'): Frag {
  return {
    nullable: 1,
    first: new Map(),
    last: new Map(),
    clean,
    lastClean: new Set(),
    atStart: true,
    atEnd: true,
    emptyAtStart: anchor === '^',
    emptyAtEnd: anchor === '$',
  };
}

/** A part that may be skipped (a zero-count choice): its empty match passes no anchor. */
function optionalOf(f: Frag): Frag {
  return { ...f, nullable: 1, clean: true, emptyAtStart: false, emptyAtEnd: false };
}

function addAll(into: Map<number, number>, from: Map<number, number>, times: number): void {
  if (times === 0) return;
  for (const [p, n] of from) into.set(p, cap((into.get(p) ?? 0) + n * times));
}

interface Look {
  node: Extract<Node, { type: 'look' }>;
  /** A loop may run before the matcher reaches it. */
  afterLoop: boolean;
}

class Builder {
  /** Per position (0 is the start state): its code units (interned) and the unbounded repeats around it, outermost first. */
  readonly sets: CharSet[] = [[]];
  readonly setIds: number[] = [0];
  readonly #distinct: CharSet[] = [[]];
  readonly #compatible = new Map<number, boolean>();
  readonly loops: Node[][] = [[]];
  readonly follow: Map<number, number>[] = [new Map()];
  readonly looks: Look[] = [];
  readonly #groups = new Map<number, Node>();
  readonly #stack: Node[] = [];

  constructor(
    readonly source: string,
    readonly ignoreCase: boolean,
    readonly budget: Budget,
  ) {}

  build(node: Node, afterLoop: boolean): Frag {
    switch (node.type) {
      case 'char': {
        const p = this.sets.length;
        if (p > MAX_STATES) throw new TooComplex();
        this.#intern(nodeSet(node, this.ignoreCase));
        this.loops.push([...this.#stack]);
        this.follow.push(new Map());
        return {
          nullable: 0,
          first: new Map([[p, 1]]),
          last: new Map([[p, 1]]),
          clean: false,
          lastClean: new Set([p]),
          atStart: false,
          atEnd: false,
          emptyAtStart: false,
          emptyAtEnd: false,
        };
      }
      case 'empty':
        return emptyFrag(true);
      case 'assert':
        return emptyFrag(false, node.text === '^' || node.text === '$' ? node.text : undefined);
      case 'look':
        this.looks.push({ node, afterLoop });
        return emptyFrag(false);
      case 'group': {
        const f = this.build(node.body, afterLoop);
        if (node.index !== undefined) this.#groups.set(node.index, node.body);
        return f;
      }
      case 'backref': {
        // At most what its group matched: a copy of the group (a group not closed yet matches "").
        const group = this.#groups.get(node.index);
        const f = group ? this.build(group, afterLoop) : emptyFrag(false);
        return { ...f, clean: false, lastClean: new Set() };
      }
      case 'seq': {
        let f = emptyFrag(true);
        let loopSeen = afterLoop;
        for (const item of node.items) {
          f = this.concat(f, this.build(item, loopSeen));
          loopSeen ||= hasLoop(item);
        }
        return f;
      }
      case 'alt': {
        const out: Frag = { ...emptyFrag(false), nullable: 0, emptyAtStart: true, emptyAtEnd: true };
        for (const o of node.options) {
          const f = this.build(o, afterLoop);
          out.nullable = cap(out.nullable + f.nullable);
          addAll(out.first, f.first, 1);
          addAll(out.last, f.last, 1);
          out.clean ||= f.clean;
          for (const p of f.lastClean) out.lastClean.add(p);
          out.atStart &&= f.atStart;
          out.atEnd &&= f.atEnd;
          if (f.nullable > 0) {
            out.emptyAtStart &&= f.emptyAtStart;
            out.emptyAtEnd &&= f.emptyAtEnd;
          }
        }
        return out;
      }
      case 'repeat':
        return this.repeat(node, afterLoop);
    }
  }

  /** body{min,max} unrolled: min copies, then max-min optional ones (or one loop), as the counter runs. */
  repeat(node: Extract<Node, { type: 'repeat' }>, afterLoop: boolean): Frag {
    const { body, min, max } = node;
    const copies = max === Infinity ? min + 1 : max;
    if (copies * countAtoms(body) + this.sets.length > MAX_STATES) throw new TooComplex();
    const loop = max === Infinity;
    const inside = afterLoop || loop;
    let f = emptyFrag(true);
    const mandatory = loop ? Math.max(min - 1, 0) : min;
    for (let i = 0; i < mandatory; i++) f = this.concat(f, this.build(body, inside));
    if (loop) {
      this.#stack.push(node);
      const l = this.build(body, inside);
      this.#stack.pop();
      if (!l.atEnd && !l.atStart) for (const [a, na] of l.last) for (const [z, nz] of l.first) this.addFollow(a, z, na * nz);
      // After the mandatory iterations an iteration may not match the empty string (ECMAScript RepeatMatcher).
      return this.concat(f, min >= 1 ? l : optionalOf(l));
    }
    let optional = emptyFrag(true);
    for (let i = max - min; i > 0; i--) {
      const once = { ...this.build(body, inside), nullable: 0, clean: false };
      optional = optionalOf(this.concat(once, optional));
    }
    return this.concat(f, optional);
  }

  #intern(set: CharSet): void {
    let id = this.#distinct.findIndex((d) => sameSet(d, set));
    if (id < 0) id = this.#distinct.push(set) - 1;
    this.sets.push(this.#distinct[id]!);
    this.setIds.push(id);
  }

  /** Whether positions `a` and `b` can read the same code unit. */
  compatible(a: number, b: number): boolean {
    const x = this.setIds[a]!;
    const y = this.setIds[b]!;
    if (x === y) return this.sets[a]!.length > 0;
    const key = x < y ? x * 65536 + y : y * 65536 + x;
    let yes = this.#compatible.get(key);
    if (yes === undefined) this.#compatible.set(key, (yes = intersects(this.sets[a]!, this.sets[b]!)));
    return yes;
  }

  concat(a: Frag, b: Frag): Frag {
    // Nothing follows a $, nothing consumed comes before a ^.
    if (!a.atEnd && !b.atStart) for (const [l, nl] of a.last) for (const [f, nf] of b.first) this.addFollow(l, f, nl * nf);
    const first = new Map(a.first);
    addAll(first, b.first, a.nullable);
    const last = new Map(b.last);
    addAll(last, a.last, b.nullable);
    const lastClean = new Set(b.lastClean);
    if (b.clean) for (const p of a.lastClean) lastClean.add(p);
    return {
      nullable: cap(a.nullable * b.nullable),
      first,
      last,
      clean: a.clean && b.clean,
      lastClean,
      atStart: a.atStart && (a.nullable === 0 || a.emptyAtStart || b.atStart),
      atEnd: b.atEnd && (b.nullable === 0 || b.emptyAtEnd || a.atEnd),
      emptyAtStart: a.emptyAtStart || b.emptyAtStart,
      emptyAtEnd: a.emptyAtEnd || b.emptyAtEnd,
    };
  }

  addFollow(from: number, to: number, n: number): void {
    spend(this.budget, 1);
    const m = this.follow[from]!;
    m.set(to, cap((m.get(to) ?? 0) + n));
  }

  /** The NFA: start state 0; with `prune`, states where the match surely ends lose their moves. */
  graph(root: Frag, prune: boolean): Graph {
    const n = this.sets.length;
    const succ: number[][] = [];
    const multi: [number, number][] = [];
    for (let s = 0; s < n; s++) {
      const moves = s === 0 ? root.first : this.follow[s]!;
      const list: number[] = [];
      if (!(prune && root.lastClean.has(s))) {
        for (const [t, count] of moves) {
          if (this.sets[t]!.length === 0) continue; // an empty class is never entered
          list.push(t);
          if (count > 1) multi.push([s, t]);
        }
      }
      succ.push(list);
    }
    return { succ, multi };
  }
}

function hasLoop(node: Node): boolean {
  let found = false;
  const visit = (n: Node): void => {
    if (found) return;
    if (n.type === 'repeat' && n.max === Infinity) found = true;
    else if (n.type === 'seq') n.items.forEach(visit);
    else if (n.type === 'alt') n.options.forEach(visit);
    else if (n.type === 'group' || n.type === 'repeat') visit(n.body);
    else if (n.type === 'backref') found = true; // a copy of a group that may loop: assume so
  };
  visit(node);
  return found;
}

/** Character positions once counted repetition is unrolled: the size of the pattern's automaton. */
export function countAtoms(node: Node): number {
  switch (node.type) {
    case 'char':
      return 1;
    case 'seq':
      return node.items.reduce((n, i) => n + countAtoms(i), 0);
    case 'alt':
      return node.options.reduce((n, o) => n + countAtoms(o), 0);
    case 'group':
      return countAtoms(node.body);
    case 'repeat':
      return countAtoms(node.body) * Math.max(1, Math.min(node.max === Infinity ? node.min + 1 : node.max, MAX_STATES));
    case 'backref':
      return 1; // its copy is counted when built
    default:
      return 0;
  }
}

// ---------------------------------------------------------------- ambiguity

interface Graph {
  succ: number[][];
  /** Moves with two or more ways (through different empty paths). */
  multi: [number, number][];
}

function degreeOf(g: Graph, b: Builder, budget: Budget): Analysis {
  const { comp, comps } = components(g.succ);
  const looping = comps.map((members) => members.length > 1 || g.succ[members[0]!]!.includes(members[0]!));
  if (!looping.some(Boolean)) return { degree: 0, reason: undefined };
  const quote = (c: number, outermost = false) => `\`${loopText(comps[c]!, b, outermost)}\``;

  for (const [s, t] of g.multi) {
    if (comp[s] === comp[t] && looping[comp[s]!]) return { degree: Infinity, reason: `${quote(comp[s]!, true)} can match the same text in many ways` };
  }
  for (let c = 0; c < comps.length; c++) {
    if (looping[c] && exponential(comps[c]!, comp, c, g, b, budget)) return { degree: Infinity, reason: `${quote(c, true)} can match the same text in many ways` };
  }

  // Polynomial: a chain of loops, each pair of which can take the same text.
  const reach = new Reach(comps, comp, g.succ);
  const next: number[][] = comps.map(() => []);
  for (let c1 = 0; c1 < comps.length; c1++) {
    if (!looping[c1]) continue;
    for (let c2 = 0; c2 < comps.length; c2++) {
      if (c2 === c1 || !looping[c2] || !reach.from(c1).has(c2)) continue;
      if (overlapping(comps[c1]!, comps[c2]!, comp, c1, c2, reach, g, b, budget)) next[c1]!.push(c2);
    }
  }
  const longest = new Map<number, { length: number; path: number[] }>();
  const chain = (c: number): { length: number; path: number[] } => {
    let best = longest.get(c);
    if (best) return best;
    best = { length: 0, path: [c] };
    for (const d of next[c]!) {
      const sub = chain(d);
      if (sub.length + 1 > best.length) best = { length: sub.length + 1, path: [c, ...sub.path] };
    }
    longest.set(c, best);
    return best;
  };
  let best = { length: 0, path: [] as number[] };
  for (let c = 0; c < comps.length; c++) if (looping[c] && chain(c).length > best.length) best = chain(c);
  if (best.length === 0) return { degree: 1, reason: `${quote(comps.findIndex((_, c) => looping[c]))} runs to the end of the input and back` };
  const quotes = best.path.map((c) => quote(c));
  const distinct = [...new Set(quotes)];
  const many = quotes.length > distinct.length ? ` (${quotes.length} loops in a row)` : '';
  return { degree: 1 + best.length, reason: `${distinct.join(' and ')}${many} can take the same text, split in many ways` };
}

/** The source of the innermost (or outermost) unbounded repeat around every state of a loop. */
function loopText(members: number[], b: Builder, outermost: boolean): string {
  const stacks = members.filter((m) => m > 0).map((m) => b.loops[m]!);
  let common: Node | undefined;
  for (let depth = 0; ; depth++) {
    const at = stacks[0]?.[depth];
    if (at === undefined || !stacks.every((s) => s[depth] === at)) break;
    common = at;
    if (outermost) break;
  }
  return common ? b.source.slice(common.start, common.end) : b.source;
}

/** Tarjan's strongly connected components, iteratively. */
function components(succ: number[][]): { comp: number[]; comps: number[][] } {
  const n = succ.length;
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const comp = new Array<number>(n).fill(-1);
  const comps: number[][] = [];
  const stack: number[] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const [v, i] = top;
      if (i === 0) {
        index[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = true;
      }
      if (i < succ[v]!.length) {
        top[1]++;
        const w = succ[v]![i]!;
        if (index[w] === -1) work.push([w, 0]);
        else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]![0];
        low[parent] = Math.min(low[parent]!, low[v]!);
      }
      if (low[v] === index[v]) {
        const members: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = false;
          comp[w] = comps.length;
          members.push(w);
        } while (w !== v);
        comps.push(members);
      }
    }
  }
  return { comp, comps };
}

/** Which components lead to which, computed for the few that are asked about. */
class Reach {
  readonly #next: Set<number>[];
  readonly #prev: Set<number>[];
  readonly #from = new Map<number, Set<number>>();
  readonly #to = new Map<number, Set<number>>();

  constructor(comps: number[][], comp: number[], succ: number[][]) {
    this.#next = comps.map(() => new Set());
    this.#prev = comps.map(() => new Set());
    succ.forEach((list, v) => {
      for (const w of list) {
        if (comp[w] === comp[v]) continue;
        this.#next[comp[v]!]!.add(comp[w]!);
        this.#prev[comp[w]!]!.add(comp[v]!);
      }
    });
  }

  /** The components reachable from `c`, itself included. */
  from(c: number): Set<number> {
    return Reach.#closure(c, this.#next, this.#from);
  }

  /** The components that reach `c`, itself included. */
  to(c: number): Set<number> {
    return Reach.#closure(c, this.#prev, this.#to);
  }

  static #closure(c: number, edges: Set<number>[], memo: Map<number, Set<number>>): Set<number> {
    let set = memo.get(c);
    if (set) return set;
    set = new Set([c]);
    const todo = [c];
    while (todo.length > 0) for (const d of edges[todo.pop()!]!) if (!set.has(d)) (set.add(d), todo.push(d));
    memo.set(c, set);
    return set;
  }
}

/**
 * EDA inside one loop: in the product of the loop with itself, a pair of different states lies
 * on a cycle through the diagonal, i.e. two different paths lead from a state back to a state
 * over the same string.
 */
function exponential(members: number[], comp: number[], c: number, g: Graph, b: Builder, budget: Budget): boolean {
  const n = members.length;
  const local = new Map(members.map((m, i) => [m, i]));
  const out: number[][] = members.map((m) => g.succ[m]!.filter((t) => comp[t] === c).map((t) => local.get(t)!));
  const into: number[][] = members.map(() => []);
  out.forEach((list, i) => list.forEach((j) => into[j]!.push(i)));
  const ok = (i: number, j: number) => i === j || b.compatible(members[i]!, members[j]!);
  // States with the same moves give the same successor pairs: each combination is expanded once
  // (the 200 ends of a 200-word alternation in a loop all lead to the same 200 starts).
  const outId = internLists(out);
  const expanded = new Set<number>();
  // Pairs reached from the diagonal, then the pairs among them that lead back to it.
  const forward = new Uint8Array(n * n);
  const queue: number[] = [];
  for (let r = 0; r < n; r++) {
    forward[r * n + r] = 1;
    queue.push(r * n + r);
  }
  while (queue.length > 0) {
    const k = queue.pop()!;
    const u = Math.floor(k / n);
    const v = k % n;
    const combo = outId[u]! * n + outId[v]!;
    if (expanded.has(combo)) continue;
    expanded.add(combo);
    for (const u2 of out[u]!) {
      spend(budget, out[v]!.length);
      for (const v2 of out[v]!) {
        const k2 = u2 * n + v2;
        if (forward[k2] || !ok(u2, v2)) continue;
        forward[k2] = 1;
        queue.push(k2);
      }
    }
  }
  const back = new Uint8Array(n * n);
  for (let r = 0; r < n; r++) {
    back[r * n + r] = 1;
    queue.push(r * n + r);
  }
  const intoId = internLists(into);
  expanded.clear();
  while (queue.length > 0) {
    const k = queue.pop()!;
    const u2 = Math.floor(k / n);
    const v2 = k % n;
    const combo = intoId[u2]! * n + intoId[v2]!;
    if (!ok(u2, v2) || expanded.has(combo)) continue;
    expanded.add(combo);
    for (const u of into[u2]!) {
      spend(budget, into[v2]!.length);
      for (const v of into[v2]!) {
        const k0 = u * n + v;
        if (back[k0] || !forward[k0]) continue;
        if (u !== v) return true;
        back[k0] = 1;
        queue.push(k0);
      }
    }
  }
  return false;
}

/** An id per list, equal for equal lists. */
function internLists(lists: number[][]): number[] {
  const ids = new Map<string, number>();
  return lists.map((l) => {
    const key = l.join(',');
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    return id;
  });
}

/**
 * IDA between two loops: states p (first loop) and q (second) and a string w with p -w-> p,
 * p -w-> q and q -w-> q, found as a path from (p, p, q) to (p, q, q) in the triple product.
 */
function overlapping(
  m1: number[],
  m2: number[],
  comp: number[],
  c1: number,
  c2: number,
  reach: Reach,
  g: Graph,
  b: Builder,
  budget: Budget,
): boolean {
  // The middle path leaves the first loop and enters the second: only states between them.
  const after = reach.from(c1);
  const before = reach.to(c2);
  const between = (s: number) => after.has(comp[s]!) && before.has(comp[s]!);
  const key = (x: number, y: number, z: number) => (x * 4096 + y) * 4096 + z;
  for (const p of m1) {
    for (const q of m2) {
      const seen = new Set<number>([key(p, p, q)]);
      const queue: [number, number, number][] = [[p, p, q]];
      while (queue.length > 0) {
        const [x, y, z] = queue.pop()!;
        for (const x2 of g.succ[x]!) {
          if (comp[x2] !== c1) continue;
          for (const y2 of g.succ[y]!) {
            if (!between(y2)) continue;
            const xy = intersect(b.sets[x2]!, b.sets[y2]!);
            if (xy.length === 0) continue;
            for (const z2 of g.succ[z]!) {
              spend(budget, 1);
              if (comp[z2] !== c2 || !intersects(xy, b.sets[z2]!)) continue;
              if (x2 === p && y2 === q && z2 === q) return true;
              const k = key(x2, y2, z2);
              if (seen.has(k)) continue;
              seen.add(k);
              queue.push([x2, y2, z2]);
            }
          }
        }
      }
    }
  }
  return false;
}
