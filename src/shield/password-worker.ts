/**
 * One verifier thread of verifier-pool.ts: compares a password with a stored hash (bcrypt, or
 * another htpasswd format: password-hash.ts), one job at a time, and answers true or false. The
 * synchronous compare is right here: this thread has nothing else to do, and bcryptjs's async
 * version only adds the slicing it needs on the event loop.
 */
import { parentPort } from 'node:worker_threads';
import { setPriority } from 'node:os';
import { checkPassword } from './password-hash.js';

/**
 * Below the event loop's priority: on Linux a nice value is per thread, and pid 0 means this
 * thread. When checks and requests compete for the cores, requests win; checks take the rest.
 */
const NICE = 10;
try {
  setPriority(0, NICE);
} catch {
  // not permitted here (or not Linux): the checks run at the process's priority
}

parentPort!.on('message', (job: { password: string; hash: string }) => {
  let ok = false;
  try {
    ok = checkPassword(job.password, job.hash);
  } catch {
    // a hash that cannot be read: no match
  }
  parentPort!.postMessage(ok);
});
