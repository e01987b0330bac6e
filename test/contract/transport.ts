/**
 * The transport contract (src/transport.ts), as a suite every link runs over its runtime: the
 * links inside the Espruino and Kaluma boards (src/compact.ts's Board: binary strings, seen here
 * through `boardLink`) inside their simulators, the Node transport as it is.
 *
 * - open → onOpen once; a connection that cannot be made → onClose once and no onOpen.
 * - Bytes written arrive intact and in order: all 256 byte values, 16 KB written the way the
 *   session writes (pieces, holding on `false` until onDrain).
 * - `write` takes the bytes: the caller's buffer may be reused as soon as it returns.
 * - Chunks of any size come in (down to 1 byte, or many packets joined), bytes intact.
 * - close → onClose exactly once; also after a remote close, a refused connection and a dropped
 *   link (where the runtime reports a drop by nothing, the client's deadline closes it: then
 *   close gives exactly one onClose). Bytes written just before close still go out.
 * - write after close does not throw.
 * - The same transport opens again after a close, and nothing of the old connection leaks in.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { after, before, describe, it } from "node:test";
import type { FaultPlan } from "../../sim/network.ts";

export interface ContractEvents {
  onOpen(): void;
  onData(chunk: Uint8Array, off: number, len: number): void;
  onDrain(): void;
  onClose(reason: unknown): void;
}

export interface ContractTransport {
  open(host: string, port: number, events: ContractEvents): void;
  write(bytes: Uint8Array, off: number, len: number): boolean;
  close(): void;
}

export interface Harness {
  /** The transport under test, fresh. */
  transport(): ContractTransport;
  /** Largest single write the transport must take (the client's txBytes). */
  maxWrite: number;
  /** Applies a fault plan to the device's links (simulated runtimes). */
  faults?(plan: FaultPlan): void;
  /**
   * Cuts the link under the device. `silent`: the runtime does not hear of it (Kaluma), so
   * onClose comes only from close(), as the client's ping deadline would call it.
   * Without it the suite resets the connection from the server's side.
   */
  drop?(): { silent: boolean };
  /** Asserts what must hold after each test (no device errors, no leaked sockets). */
  check?(): void;
  dispose(): void;
}

export interface ContractOptions {
  /** The harness can apply fault plans (chunk sizes, coalescing). */
  faults?: boolean;
  /** A TLS server (key and certificate) instead of a TCP one. */
  tls?: { key: string; cert: string };
  /**
   * Known departures from the contract, by test name, with the reason: those tests run as
   * `todo` (reported, not failing the run) until the adapter is fixed.
   */
  todo?: { [test: string]: string };
  /** How long a refused connection may take to be reported (default 3,000 ms). */
  refusedWithinMs?: number;
  /**
   * The runtime reports a refused connection by nothing (Kaluma): the client's connect deadline
   * closes the link, and that close gives exactly one onClose.
   */
  refusedSilently?: boolean;
}

/**
 * A board's link (open / write of a binary string / close, events with string data) as a
 * ContractTransport, checking what the board client relies on: no event from inside a call of
 * the link's (onClose above all), data one char per byte. What breaks it goes into `violations`.
 */
export function boardLink(
  board: {
    open(host: string, port: number, events: { onOpen(): void; onData(data: string | Uint8Array): void; onDrain(): void; onClose(reason?: unknown): void }): void;
    write(data: string): boolean;
    close(): void;
  },
  violations: string[],
): ContractTransport {
  let inside = "";
  const call = <T>(name: string, fn: () => T): T => {
    const outer = inside;
    inside = name;
    try {
      return fn();
    } finally {
      inside = outer;
    }
  };
  return {
    open(host, port, events) {
      call("open", () =>
        board.open(host, port, {
          onOpen() {
            if (inside) violations.push("onOpen from inside " + inside + "()");
            events.onOpen();
          },
          onData(data: string | Uint8Array) {
            // Kaluma's link hands its segments on as bytes; Espruino's as binary strings.
            if (typeof data !== "string" && data && typeof data.length === "number") {
              // (From the simulated device's own realm: instanceof would not know it.)
              events.onData(data as Uint8Array, 0, data.length);
              return;
            }
            if (typeof data !== "string") {
              violations.push("onData got " + typeof data + ", not a binary string or bytes");
              return;
            }
            const text: string = data;
            const bytes = new Uint8Array(text.length);
            for (let i = 0; i < text.length; i++) {
              const c = text.charCodeAt(i);
              if (c > 255) violations.push("onData: char " + c + " is not a byte");
              bytes[i] = c;
            }
            events.onData(bytes, 0, bytes.length);
          },
          onDrain() {
            events.onDrain();
          },
          onClose(reason?: unknown) {
            if (inside) violations.push("onClose from inside " + inside + "()");
            events.onClose(reason);
          },
        }),
      );
    },
    write(bytes, off, len) {
      let s = "";
      for (let i = off; i < off + len; i++) s += String.fromCharCode(bytes[i]);
      return call("write", () => board.write(s));
    },
    close() {
      call("close", () => board.close());
    },
  };
}

/** The events a transport reported, and waits on them. */
export class Recorder implements ContractEvents {
  opens = 0;
  drains = 0;
  closes: unknown[] = [];
  chunks: number[] = [];
  private parts: Buffer[] = [];
  private waiters: (() => void)[] = [];

  onOpen(): void {
    this.opens++;
    this.wake();
  }

  onData(chunk: Uint8Array, off: number, len: number): void {
    // Valid during the call only: copy.
    this.parts.push(Buffer.from(chunk.subarray(off, off + len)));
    this.chunks.push(len);
    this.wake();
  }

  onDrain(): void {
    this.drains++;
    this.wake();
  }

  onClose(reason: unknown): void {
    this.closes.push(reason);
    this.wake();
  }

  received(): Buffer {
    return Buffer.concat(this.parts);
  }

  async until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for " + what);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** The server side: accepts connections, records what each receives. */
class Peer {
  socket: net.Socket;
  bytes: Buffer[] = [];
  ended = false;
  closed = false;
  private waiters: (() => void)[] = [];

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (b: Buffer) => {
      this.bytes.push(b);
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  received(): Buffer {
    return Buffer.concat(this.bytes);
  }

  async until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for " + what);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

class Server {
  port = 0;
  private server: net.Server;
  private peers: Peer[] = [];
  private all = new Set<net.Socket>();
  private pending: ((p: Peer) => void)[] = [];

  constructor(tlsOptions?: { key: string; cert: string }) {
    const onSocket = (socket: net.Socket) => {
      this.all.add(socket);
      socket.on("close", () => this.all.delete(socket));
      const peer = new Peer(socket);
      const waiter = this.pending.shift();
      if (waiter) waiter(peer);
      else this.peers.push(peer);
    };
    this.server = tlsOptions ? tls.createServer(tlsOptions, onSocket) : net.createServer(onSocket);
  }

  listen(): Promise<void> {
    return new Promise((resolve) => {
      this.server.listen(0, "127.0.0.1", () => {
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  /** The next connection the server accepts. */
  accept(timeoutMs = 5000): Promise<Peer> {
    const ready = this.peers.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no connection arrived")), timeoutMs);
      this.pending.push((p) => {
        clearTimeout(timer);
        resolve(p);
      });
    });
  }

  /** Forgets connections nobody accepted (left over from a test that did not wait for them). */
  discard(): void {
    for (const p of this.peers) p.socket.destroy();
    this.peers = [];
  }

  close(): Promise<void> {
    this.discard();
    for (const socket of this.all) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Writes `data` as the session does: pieces of at most `piece`, waiting for onDrain after false. */
async function writeAll(t: ContractTransport, rec: Recorder, data: Uint8Array, piece: number): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = Math.min(piece, data.length - off);
    const drainsBefore = rec.drains;
    const more = t.write(data, off, n);
    off += n;
    if (!more && off < data.length) await rec.until(() => rec.drains > drainsBefore || rec.closes.length > 0, "onDrain");
    assert.equal(rec.closes.length, 0, "closed while writing: " + String(rec.closes[0]));
  }
}

/** Runs the contract against the transports `makeHarness` makes. */
export function transportContract(name: string, makeHarness: () => Harness, options?: ContractOptions): void {
  const o = options || {};
  const todo = (test: string): string | undefined => (o.todo ? o.todo[test] : undefined);
  describe("transport contract: " + name, () => {
    let server: Server;
    let harness: Harness | null = null;

    before(async () => {
      server = new Server(o.tls);
      await server.listen();
    });
    after(async () => {
      await server.close();
    });

    /** A fresh harness and transport, opened, with its server-side peer. */
    async function connected(): Promise<{ t: ContractTransport; rec: Recorder; peer: Peer; h: Harness }> {
      if (harness) harness.dispose();
      server.discard();
      const h = makeHarness();
      harness = h;
      const t = h.transport();
      const rec = new Recorder();
      t.open("127.0.0.1", server.port, rec);
      const peer = await server.accept();
      await rec.until(() => rec.opens === 1, "onOpen");
      return { t, rec, peer, h };
    }

    async function finish(h: Harness): Promise<void> {
      if (h.check) h.check();
      h.dispose();
      if (harness === h) harness = null;
    }

    it("open: onOpen once, no onClose", async () => {
      const { rec, h } = await connected();
      await sleep(50);
      assert.equal(rec.opens, 1);
      assert.equal(rec.closes.length, 0);
      await finish(h);
    });

    it("all 256 byte values arrive intact", async () => {
      const { t, peer, h } = await connected();
      const all = new Uint8Array(256);
      for (let i = 0; i < 256; i++) all[i] = i;
      t.write(all, 0, 256);
      await peer.until(() => peer.received().length >= 256, "256 bytes");
      assert.deepEqual([...peer.received()], [...all]);
      await finish(h);
    });

    it("16 KB written as the session writes arrive intact", async () => {
      const { t, rec, peer, h } = await connected();
      const data = pattern(16384, 7);
      await writeAll(t, rec, data, Math.min(h.maxWrite, 4096));
      await peer.until(() => peer.received().length >= data.length, "16 KB", 10000);
      assert.ok(peer.received().equals(Buffer.from(data)), "the 16 KB differ");
      await finish(h);
    });

    it("one write of the largest packet is taken whole", async () => {
      const { t, peer, h } = await connected();
      const data = pattern(h.maxWrite, 11);
      t.write(data, 0, data.length);
      await peer.until(() => peer.received().length >= data.length, "the packet");
      assert.ok(peer.received().equals(Buffer.from(data)));
      await finish(h);
    });

    it("write takes the bytes: the caller's buffer is reused at once", async () => {
      const { t, peer, h } = await connected();
      const buf = new Uint8Array(64);
      const expected: number[] = [];
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < buf.length; i++) buf[i] = (round * 31 + i) & 255;
        expected.push(...buf.subarray(5, 45));
        t.write(buf, 5, 40);
        buf.fill(0xee); // reused before anything could have been sent
      }
      await peer.until(() => peer.received().length >= expected.length, "8 writes");
      assert.deepEqual([...peer.received()], expected);
      await finish(h);
    });

    it("chunks of any size come in: bytes intact", async () => {
      const { rec, peer, h } = await connected();
      const data = Buffer.from(pattern(20000, 3));
      for (let off = 0; off < data.length; ) {
        const n = Math.min(1 + ((off * 7) % 3000), data.length - off);
        peer.socket.write(data.subarray(off, off + n));
        off += n;
      }
      await rec.until(() => rec.received().length >= data.length, "20,000 bytes", 10000);
      assert.ok(rec.received().equals(data));
      await finish(h);
    });

    it("1-byte chunks and joined chunks come in intact", { skip: !o.faults }, async () => {
      const { rec, peer, h } = await connected();
      h.faults!({ chunkMin: 1, chunkMax: 1 });
      const small = Buffer.from(pattern(1500, 5));
      peer.socket.write(small);
      await rec.until(() => rec.received().length >= small.length, "1,500 bytes one by one");
      assert.ok(rec.chunks.every((n) => n === 1), "chunks of one byte");
      h.faults!({ coalesceMs: 30 });
      const count = rec.chunks.length;
      const joined = Buffer.from(pattern(400, 9));
      for (let i = 0; i < joined.length; i += 4) peer.socket.write(joined.subarray(i, i + 4));
      await rec.until(() => rec.received().length >= small.length + joined.length, "joined bytes");
      assert.ok(rec.received().equals(Buffer.concat([small, joined])));
      assert.ok(rec.chunks.length - count < 100, "100 writes of 4 bytes came in fewer, joined chunks");
      await finish(h);
    });

    it("close: onClose exactly once, and the peer sees the end", async () => {
      const { t, rec, peer, h } = await connected();
      t.close();
      await rec.until(() => rec.closes.length === 1, "onClose");
      await peer.until(() => peer.closed || peer.ended, "the peer to see the close");
      t.close();
      await sleep(100);
      assert.equal(rec.closes.length, 1);
      await finish(h);
    });

    it("bytes written just before close go out first", async () => {
      const { t, rec, peer, h } = await connected();
      const data = pattern(3000, 13);
      t.write(data, 0, 1000);
      t.write(data, 1000, 1000);
      t.write(Uint8Array.of(0xe0, 0x00), 0, 2); // a DISCONNECT: without it the broker sends the will
      t.close();
      await rec.until(() => rec.closes.length === 1, "onClose");
      await peer.until(() => peer.closed || peer.ended, "the end");
      assert.deepEqual([...peer.received()], [...data.subarray(0, 2000), 0xe0, 0x00]);
      await finish(h);
    });

    it("close while connecting: onClose once, no onOpen", { todo: todo("close while connecting") }, async () => {
      if (harness) harness.dispose();
      const h = makeHarness();
      harness = h;
      const t = h.transport();
      const rec = new Recorder();
      t.open("127.0.0.1", server.port, rec);
      t.close();
      await rec.until(() => rec.closes.length === 1, "onClose");
      await sleep(150);
      assert.equal(rec.closes.length, 1);
      assert.equal(rec.opens, 0);
      await finish(h);
    });

    it("a remote close: onClose exactly once", async () => {
      const { rec, peer, h } = await connected();
      peer.socket.end();
      await rec.until(() => rec.closes.length === 1, "onClose");
      await sleep(100);
      assert.equal(rec.closes.length, 1);
      await finish(h);
    });

    it("a refused connection: onClose exactly once, no onOpen", async () => {
      if (harness) harness.dispose();
      const h = makeHarness();
      harness = h;
      const t = h.transport();
      const rec = new Recorder();
      t.open("127.0.0.1", await closedPort(), rec);
      if (o.refusedSilently) {
        // Nothing tells the device: the client's connect deadline closes the link.
        await sleep(200);
        assert.equal(rec.opens, 0);
        t.close();
      }
      await rec.until(() => rec.closes.length === 1, "onClose", o.refusedWithinMs || 3000);
      await sleep(100);
      assert.equal(rec.closes.length, 1);
      assert.equal(rec.opens, 0);
      if (!o.refusedSilently) assert.ok(rec.closes[0], "a reason is given");
      await finish(h);
    });

    it("a dropped link: onClose exactly once", async () => {
      const { t, rec, peer, h } = await connected();
      let silent = false;
      if (h.drop) silent = h.drop().silent;
      else if (peer.socket instanceof tls.TLSSocket) peer.socket.destroy(); // no RST through TLS
      else peer.socket.resetAndDestroy();
      if (silent) {
        // Nothing tells the device: the client's ping deadline closes the transport.
        await sleep(200);
        assert.equal(rec.closes.length, 0, "a silent drop reported itself");
        t.close();
      }
      await rec.until(() => rec.closes.length === 1, "onClose");
      await sleep(100);
      assert.equal(rec.closes.length, 1);
      await finish(h);
    });

    it("write after close does not throw", async () => {
      const b = pattern(10, 1);
      const first = await connected();
      first.t.close();
      assert.equal(typeof first.t.write(b, 0, 10), "boolean");
      await first.rec.until(() => first.rec.closes.length === 1, "onClose");
      assert.equal(typeof first.t.write(b, 0, 10), "boolean");
      await finish(first.h);
      // And after a remote close, before and after the transport has reported it.
      const second = await connected();
      second.peer.socket.end();
      await second.peer.until(() => second.peer.closed, "the remote close");
      assert.equal(typeof second.t.write(b, 0, 10), "boolean");
      await second.rec.until(() => second.rec.closes.length === 1, "onClose");
      assert.equal(typeof second.t.write(b, 0, 10), "boolean");
      await sleep(50);
      assert.equal(second.rec.closes.length, 1);
      await finish(second.h);
    });

    it("opens again after a close; nothing of the old connection leaks in", async () => {
      const { t, rec, peer, h } = await connected();
      t.close();
      await rec.until(() => rec.closes.length === 1, "onClose");
      const rec2 = new Recorder();
      t.open("127.0.0.1", server.port, rec2);
      const peer2 = await server.accept();
      await rec2.until(() => rec2.opens === 1, "onOpen again");
      if (!peer.closed) peer.socket.write(Buffer.from("old"));
      peer2.socket.write(Buffer.from("new"));
      t.write(Uint8Array.of(1, 2, 3), 0, 3);
      await rec2.until(() => rec2.received().length >= 3, "data on the new connection");
      await peer2.until(() => peer2.received().length >= 3, "bytes on the new connection");
      await sleep(50);
      assert.equal(rec2.received().toString(), "new");
      assert.equal(rec.received().length, 0);
      assert.equal(rec.closes.length, 1);
      assert.deepEqual([...peer2.received()], [1, 2, 3]);
      t.close();
      await rec2.until(() => rec2.closes.length === 1, "onClose");
      await finish(h);
    });
  });
}

/**
 * A TCP server on 127.0.0.1 for a runtime's own tests, started before and closed after the
 * enclosing `describe`: the port, and every connection it accepted, in order.
 */
export function peerServer(): { port: () => number; sockets: net.Socket[] } {
  let server: net.Server;
  let port = 0;
  const sockets: net.Socket[] = [];
  before(async () => {
    server = net.createServer((s) => {
      sockets.push(s);
      s.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: () => port, sockets };
}
