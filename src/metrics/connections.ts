/**
 * Open client connections by protocol, for /metrics and the dashboard: counted when a
 * listener takes a connection (server/listeners.ts) and when it closes. A connection, not a
 * request, pays for this: one listener on its 'close'.
 */
import type { Socket } from 'node:net';
import { metricsEnabled } from './stats.js';

export type ConnectionKind = 'http/1.1' | 'https/1.1' | 'h2';

export const openConnections: Record<ConnectionKind, number> = { 'http/1.1': 0, 'https/1.1': 0, h2: 0 };
/** Connections accepted since start, by kind. */
export const acceptedConnections: Record<ConnectionKind, number> = { 'http/1.1': 0, 'https/1.1': 0, h2: 0 };

export function trackConnection(socket: Socket, kind: ConnectionKind): void {
  if (!metricsEnabled) return;
  openConnections[kind]++;
  acceptedConnections[kind]++;
  socket.once('close', () => openConnections[kind]--);
}
