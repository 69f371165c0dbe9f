/**
 * bcrypt off the event loop. One check costs tens of milliseconds of CPU (about 70 ms at cost
 * 10 in bcryptjs); on the event loop, a dozen wrong passwords a second held every other
 * request of the process for seconds. Checks run here on a few worker threads instead
 * (password-worker.ts; node's crypto has scrypt and PBKDF2 but no bcrypt, which is what
 * htpasswd -B and Caddy's hashes are), one check per thread at a time, and wait in a bounded
 * queue when all are busy. A full queue takes nothing more: the caller answers 503.
 *
 * Threads start with the first check (a config without basic_auth never pays for them), are
 * replaced when one dies (its check fails, the next ones get a new thread), and stop with
 * close(). They are unref'd: they never keep the process alive by themselves.
 */
import { Worker } from 'node:worker_threads';

interface Job {
  password: string;
  hash: string;
  /** True when nobody waits for the answer any more: a queued job is then dropped unrun. */
  cancelled: () => boolean;
  resolve: (ok: boolean) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  job: Job | undefined;
}

const SCRIPT = new URL('./password-worker.js', import.meta.url);

export class VerifierPool {
  readonly #size: number;
  readonly #queueLimit: number;
  readonly #threads = new Set<Thread>();
  readonly #queue: Job[] = [];
  #closed = false;

  /** @param size threads at most; @param queueLimit checks waiting for a thread at most. */
  constructor(size: number, queueLimit: number) {
    this.#size = size;
    this.#queueLimit = queueLimit;
  }

  /** Threads running now (none before the first check and after close). */
  get threads(): number {
    return this.#threads.size;
  }

  /** Checks waiting for a thread. */
  get queued(): number {
    return this.#queue.length;
  }

  /** The running threads, for tests that kill one. */
  get workers(): Worker[] {
    return [...this.#threads].map((t) => t.worker);
  }

  /**
   * Whether `password` matches `hash`. undefined, synchronously, when every thread is busy and
   * the queue is full: nothing was queued. Rejects when the thread died or the pool closed.
   */
  verify(password: string, hash: string, cancelled: () => boolean = () => false): Promise<boolean> | undefined {
    if (this.#closed) return Promise.reject(new Error('the password verifier is closed'));
    let thread: Thread | undefined;
    for (const t of this.#threads) if (t.job === undefined) thread = t;
    if (thread === undefined && this.#threads.size < this.#size) thread = this.#spawn();
    if (thread === undefined && this.#queue.length >= this.#queueLimit) return undefined;
    return new Promise<boolean>((resolve, reject) => {
      const job: Job = { password, hash, cancelled, resolve, reject };
      if (thread) this.#run(thread, job);
      else this.#queue.push(job);
    });
  }

  /** Stops every thread; checks still waiting or running reject. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Error('the password verifier is closed'));
    await Promise.all([...this.#threads].map((t) => t.worker.terminate()));
  }

  #spawn(): Thread {
    const worker = new Worker(SCRIPT, { name: 'portico password check' });
    const thread: Thread = { worker, job: undefined };
    worker.unref();
    worker.on('message', (ok: unknown) => {
      const job = thread.job;
      thread.job = undefined;
      job?.resolve(ok === true);
      this.#next(thread);
    });
    worker.on('error', () => {}); // 'exit' follows and does the work
    worker.once('exit', () => {
      this.#threads.delete(thread);
      const job = thread.job;
      thread.job = undefined;
      job?.reject(new Error('a password verifier thread exited'));
      // What waited for it gets a new thread (one at a time, so a thread that cannot start
      // fails the queue one job per attempt instead of spinning).
      if (!this.#closed && this.#queue.length > 0) this.#next(this.#spawn());
    });
    this.#threads.add(thread);
    return thread;
  }

  #run(thread: Thread, job: Job): void {
    thread.job = job;
    thread.worker.postMessage({ password: job.password, hash: job.hash });
  }

  /** Gives a free thread the oldest job somebody still waits for. */
  #next(thread: Thread): void {
    let job = this.#queue.shift();
    while (job !== undefined && job.cancelled()) {
      job.reject(new Error('nobody waits for this check any more'));
      job = this.#queue.shift();
    }
    if (job !== undefined) this.#run(thread, job);
  }
}
