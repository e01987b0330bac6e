/**
 * The compact client's board in Node, for tests against real brokers: Date.now, setTimeout and a
 * net.Socket with Nagle off, carrying binary strings as latin1 (one char per byte both ways).
 *
 * It keeps the link's side of the contract of `Board` in src/compact.ts: onClose exactly once per
 * open, never from inside a call of the client's (a socket's 'close' event comes on a later turn),
 * and `write` returns what the socket says (false: wait for 'drain').
 */
import * as net from "node:net";
import type { Board, LinkEvents } from "../../src/compact.ts";

export interface NodeLink extends Board {
  /** The live socket, for tests that cut it. */
  socket(): net.Socket | null;
  /** Closes reported so far. */
  closes: number;
}

export function nodeBoard(): NodeLink {
  let sock: net.Socket | null = null;
  const board: NodeLink = {
    closes: 0,
    now: () => Date.now(),
    set: (callback, ms, arg) => setTimeout(callback, ms, arg),
    clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
    open(host: string, port: number, events: LinkEvents) {
      const s = net.connect({ host: host, port: port });
      sock = s;
      s.setNoDelay(true);
      s.setEncoding("latin1");
      s.on("connect", () => {
        if (sock === s) events.onOpen();
      });
      s.on("data", (d: string) => {
        if (sock === s) events.onData(d);
      });
      s.on("drain", () => {
        if (sock === s) events.onDrain();
      });
      s.on("error", () => {
        // 'close' follows.
      });
      s.on("close", () => {
        if (sock === s) sock = null;
        board.closes++;
        events.onClose();
      });
    },
    write(data: string) {
      if (!sock || sock.destroyed) return true;
      return sock.write(data, "latin1");
    },
    close() {
      if (sock) sock.destroy();
    },
    socket: () => sock,
  };
  return board;
}
