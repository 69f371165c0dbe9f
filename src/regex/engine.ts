/**
 * V8's two regex engines, set up once per process, before any regex from the config exists
 * (a module that compiles one imports this first; so do the entry points). V8 has a
 * backtracking engine (irregexp: fast, but exponential on some patterns and inputs) and an
 * automaton engine that runs in time linear in the input (https://v8.dev/blog/non-backtracking-regexp).
 *  - `--enable-experimental-regexp-engine` lets a regex ask for the linear engine with the `l`
 *    flag; a pattern it cannot run (lookaround, backreference, a count above 16, the `i`
 *    flag in Node 20) is then a SyntaxError instead of a slow regex.
 *  - `--enable-experimental-regexp-engine-on-excessive-backtracks` moves a backtracking match
 *    to the linear engine once it has backtracked more than 50,000 times
 *    (`--regexp-backtracks-before-fallback`), for every pattern the linear engine can run.
 * The flags are read when V8 compiles a regex (on its first match), so setting them at run
 * time is enough. Every process that serves imports this module: `portico run`, the process
 * it relaunches, the cluster workers, and Portico started in-process.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--enable-experimental-regexp-engine');
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** Whether this V8 runs the linear engine (setFlagsFromString ignores a flag it does not know). */
export const LINEAR_ENGINE: boolean = (() => {
  try {
    return new RegExp('a', 'l').exec('a') !== null;
  } catch {
    return false;
  }
})();

/** V8's default for `--regexp-backtracks-before-fallback`, restored after the probe below. */
const BACKTRACKS_BEFORE_FALLBACK = 50_000;

/**
 * Whether V8 does move a backtracking match to the linear engine, seen rather than assumed: with
 * the threshold at one backtrack for a moment, a pattern on which the two engines differ (a
 * repetition of a part that can match nothing, see safe-regex.ts) gives the linear engine's
 * answer, "" instead of "a". Nothing else runs meanwhile (this is synchronous module code).
 */
export const LINEAR_FALLBACK: boolean = (() => {
  setFlagsFromString('--regexp-backtracks-before-fallback=1');
  try {
    return LINEAR_ENGINE && new RegExp('([ab]*?)?(?:portico-fallback-probe)?').exec('a')?.[0] === '';
  } finally {
    setFlagsFromString(`--regexp-backtracks-before-fallback=${BACKTRACKS_BEFORE_FALLBACK}`);
  }
})();
