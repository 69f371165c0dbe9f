/**
 * What `nginx -t` checks in an `if` condition (ngx_http_rewrite_if_condition,
 * https://nginx.org/en/docs/http/ngx_http_rewrite_module.html#if), so `check` refuses what nginx
 * refuses: the condition is in parentheses; it is
 * a variable, a comparison (`=`, `!=`), a regex match (`~`, `~*`, `!~`, `!~*`) or a file test
 * (`-f`, `-d`, `-e`, `-x` and their `!` forms); every variable in it is one nginx knows
 * ("unknown variable": nginx stops there, and so does Portico).
 */
import type { Directive } from './parser.js';
import type { Diagnostics } from '../diagnostics.js';
import { isKnown, variablesIn, type VariableEnv } from './variables.js';

const OPERATORS = new Set(['=', '!=', '~', '~*', '!~', '!~*']);
const FILE_TESTS = new Set(['-f', '!-f', '-d', '!-d', '-e', '!-e', '-x', '!-x']);

/**
 * Reports the first problem of `if`'s condition; without `env`, the syntax only (the variables
 * are checked once `map` and `set` are known). False when it reported one.
 */
export function checkIfCondition(d: Directive, env: VariableEnv | undefined, diag: Diagnostics): boolean {
  const before = diag.errors.length;
  check(d, env, diag);
  return diag.errors.length === before;
}

/** The words of a condition without its parentheses: [value], [value, op, other] or [fileTest, path]; undefined when not in parentheses. */
export function conditionWords(d: Directive): string[] | undefined {
  const args = [...d.args];
  const first = args[0]!;
  const last = args[args.length - 1]!;
  if (!first.startsWith('(') || !last.endsWith(')')) return undefined;
  // "(" and ")" may stand alone or be glued to the first and last words.
  args[0] = first.slice(1);
  args[args.length - 1] = args[args.length - 1]!.slice(0, -1);
  return args.filter((w, i) => w !== '' || (i > 0 && i < args.length - 1));
}

export const isFileTest = (word: string): boolean => FILE_TESTS.has(word);

function check(d: Directive, env: VariableEnv | undefined, diag: Diagnostics): void {
  const first = d.args[0]!;
  const words = conditionWords(d);
  if (words === undefined || words.length === 0) return diag.error(d, `invalid condition "${first}"`);
  const [a, op, b] = words as [string, string | undefined, string | undefined];
  if (FILE_TESTS.has(a)) {
    if (op === undefined || b !== undefined) return diag.error(d, `invalid condition "${first}"`);
    return unknownIn(op, d, env, diag);
  }
  if (!a.startsWith('$')) return diag.error(d, `invalid condition "${a}"`);
  if (op !== undefined && (!OPERATORS.has(op) || b === undefined)) return diag.error(d, `unexpected "${op}" in condition`);
  if (words.length > 3) return diag.error(d, `invalid condition "${first}"`);
  unknownIn(a, d, env, diag);
  // The right side of a regex match is a regex, whose `$` is an anchor.
  if (b !== undefined && (op === '=' || op === '!=')) unknownIn(b, d, env, diag);
}

function unknownIn(value: string, d: Directive, env: VariableEnv | undefined, diag: Diagnostics): void {
  if (env === undefined) return;
  for (const name of variablesIn(value)) if (!isKnown(name, env)) return diag.error(d, `unknown "${name}" variable`);
}
