/**
 * What every basic_auth route of a running server shares (config `password_checks`): the
 * verifier threads and the count of failed attempts per client address. Made once per server
 * and kept across reloads, so a reload neither restarts the threads nor forgets an attacker.
 */
import { availableParallelism } from 'node:os';
import type { PasswordChecksConfig } from '../config/shield-schema.js';
import { VerifierPool } from './verifier-pool.js';
import { LoginFailures } from './login-failures.js';

export class PasswordChecks {
  readonly pool: VerifierPool;
  readonly failures: LoginFailures;

  constructor(cfg: PasswordChecksConfig, now?: () => number) {
    const threads = cfg.threads === 'auto' ? Math.min(2, availableParallelism()) : cfg.threads;
    this.pool = new VerifierPool(threads, cfg.queue);
    this.failures = new LoginFailures({ max: cfg.max_failures, window: cfg.failure_window, maxKeys: cfg.max_clients, ...(now ? { now } : {}) });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
