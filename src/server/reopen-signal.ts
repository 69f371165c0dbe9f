/**
 * SIGUSR1 reopens the log files, nginx's meaning (`nginx -s reopen`, what logrotate's
 * postrotate sends so that a renamed log is followed by a fresh one), and does nothing else.
 * node's own meaning is "start the inspector on 127.0.0.1:9229": in a server that often runs
 * as root, any local user could then attach to it and run code as root. Installing a listener
 * replaces node's handler, so every Portico process imports this module first (cli/main.ts;
 * cli/run.ts, cli/malloc-relaunch.ts and workers.ts import it too, should they be entered
 * another way). From the moment it is evaluated no SIGUSR1 opens an inspector; during node's
 * own start before it (tens of milliseconds) one still would, which is why the launcher and the
 * cluster primary hold a SIGUSR1 for a child until the child says it handles signals.
 */

let action: () => void = () => {};

// A signal listener does not keep the process alive (node unrefs signal handles).
process.on('SIGUSR1', () => action());

/** What SIGUSR1 does in this process from now on (a server: reopen its logs; a launcher: pass it on). */
export function onReopenSignal(fn: () => void): void {
  action = fn;
}
