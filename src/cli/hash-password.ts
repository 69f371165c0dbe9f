/**
 * `portico hash-password [--cost N]`: prints a bcrypt hash for basic_auth.users (or an
 * htpasswd line's second half). The password is read from standard input, never from an
 * argument (which would land in shell history and `ps`): typed twice without echo on a
 * terminal, or piped (one trailing newline removed).
 */
import { DEFAULT_COST, hashPassword, passwordTooLong } from '../shield/password-hash.js';

export async function hashPasswordCommand(costText: string | undefined): Promise<number> {
  const cost = costText === undefined ? DEFAULT_COST : Number(costText);
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    process.stderr.write(`portico: --cost must be an integer from 4 to 31, got '${costText}'\n`);
    return 2;
  }
  let password: string;
  if (process.stdin.isTTY) {
    password = await prompt('Password: ');
    if ((await prompt('Again: ')) !== password) {
      process.stderr.write('portico: the passwords differ\n');
      return 1;
    }
  } else {
    password = (await readAll()).replace(/\r?\n$/, '');
  }
  if (password === '') {
    process.stderr.write('portico: empty password\n');
    return 1;
  }
  if (passwordTooLong(password)) process.stderr.write('portico: warning: bcrypt uses only the first 72 bytes of a password\n');
  process.stdout.write((await hashPassword(password, cost)) + '\n');
  return 0;
}

function readAll(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** One line from the terminal, not echoed. */
function prompt(question: string): Promise<string> {
  return new Promise((resolve) => {
    process.stderr.write(question);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    let text = '';
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          return resolve(text);
        }
        if (ch === '\u0003') process.exit(130); // Ctrl-C
        if (ch === '\u007f') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}
