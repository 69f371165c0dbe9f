/** Connections through undici (connection.ts), pooled per upstream address like the h1 client's. */
import { ConnectionPool } from '../connection-pool.js';
import { UndiciConnection } from './connection.js';

export class UndiciPool extends ConnectionPool<UndiciConnection> {
  protected dial(): UndiciConnection {
    return new UndiciConnection(this.transport, this.options, this);
  }
}
