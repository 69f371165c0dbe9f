/**
 * `respond: { close: true }` and `unknown_host: close`: the connection is closed without an
 * answer (nginx's `return 444`). Scanners probing by IP address or with made-up Host names get
 * nothing, and never reach the app (Django would log an ALLOWED_HOSTS error for each).
 */
import type { RouteHandler } from '../http/route-handler.js';

export const CLOSED_STATUS = 444;

export function closeHandler(): RouteHandler {
  return {
    handle(ex) {
      ex.logStatus = CLOSED_STATUS;
      // HTTP/2: the writer resets this stream only; its connection carries other requests.
      if (ex.req.httpVersionMajor === 2) ex.writer.destroy();
      else ex.req.socket.destroy();
    },
    upgrade(ex, socket) {
      ex.logStatus = CLOSED_STATUS;
      socket.destroy();
    },
  };
}
