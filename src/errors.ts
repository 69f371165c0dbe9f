/** A problem with a config file; `problems` are complete messages ("file:line:col: path: what"). */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Starting failed on something the config text cannot show: an address already taken, a
 * certificate file missing or unreadable, a directory that cannot be written. `where` is the
 * config key it comes from ("servers[0].listen[1]", "data_dir"), which `portico run` prints as
 * the file:line of that key; `detail` says what happened and, where it can, what to do (the
 * message is both, for a caller of the API).
 */
export class StartError extends Error {
  constructor(
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
    this.name = 'StartError';
  }
}
