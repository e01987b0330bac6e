/**
 * A Transport the test drives by hand: it records every open, write and close, and the test
 * decides when the connection opens, what bytes arrive (also from inside `write`, as a loopback or
 * a very fast broker would), when writes report back-pressure and when the close completes.
 *
 * It holds the client to the contract in src/transport.ts and counts every breach in `misuse`
 * instead of throwing into the client: a write while not open, a second `open` while one is live,
 * events after the close.
 */
import type { Packet } from "../../src/index.ts";
import type { Transport, TransportEvents } from "../../src/transport.ts";
import { ManualClock } from "./manual-clock.ts";
import { WireLog, enc, encAll } from "./wire.ts";

export type LinkState = "idle" | "opening" | "open" | "closing";

export class FakeTransport implements Transport {
  state: LinkState = "idle";
  events: TransportEvents | null = null;
  /** Every `open`, in order. */
  opens: { host: string; port: number }[] = [];
  closeCalls = 0;
  /** Written bytes of every connection; `wire` is cleared by nothing but the test. */
  wire = new WireLog();
  /** What `write` returns; false asks the writer to wait for `drain()`. */
  writeResult = true;
  /** When true, `close()` reports `onClose` before it returns; else `finishClose()` does. */
  closeAtOnce = true;
  /** Called inside `write` after the bytes were recorded (with the packets of that write). */
  onWrite: ((packets: Packet[], t: FakeTransport) => void) | null = null;
  /** Breaches of the transport contract by the client. */
  misuse: string[] = [];

  open(host: string, port: number, events: TransportEvents): void {
    if (this.state !== "idle") this.misuse.push("open while " + this.state);
    this.opens.push({ host: host, port: port });
    this.events = events;
    this.state = "opening";
  }

  write(bytes: Uint8Array, off: number, len: number): boolean {
    if (this.state !== "open") {
      this.misuse.push("write while " + this.state);
      return true;
    }
    const before = this.wire.writes.length;
    this.wire.record(bytes, off, len);
    if (this.onWrite) {
      const written = this.wire.writes[before];
      this.onWrite(decodeWrite(written), this);
    }
    return this.writeResult;
  }

  close(): void {
    this.closeCalls++;
    if (this.state === "idle" || this.state === "closing") return;
    this.state = "closing";
    if (this.closeAtOnce) this.finishClose();
  }

  // --- the test's side -------------------------------------------------------------------------

  /** The connection opened. */
  accept(): void {
    if (this.state !== "opening") throw new Error("FakeTransport.accept while " + this.state);
    this.state = "open";
    (this.events as TransportEvents).onOpen();
  }

  /** The connection could not be opened, or the peer closed it, or it broke. */
  fail(reason?: unknown): void {
    if (this.state === "idle") throw new Error("FakeTransport.fail while idle");
    this.state = "idle";
    (this.events as TransportEvents).onClose(reason === undefined ? null : reason);
  }

  /** Completes a close the client asked for. */
  finishClose(): void {
    if (this.state !== "closing") throw new Error("FakeTransport.finishClose while " + this.state);
    this.state = "idle";
    (this.events as TransportEvents).onClose(null);
  }

  /** Bytes from the broker, in one chunk, or split into chunks of `chunkBytes`. */
  deliver(data: Packet | Packet[] | Uint8Array, chunkBytes?: number): void {
    if (this.state !== "open") throw new Error("FakeTransport.deliver while " + this.state);
    const bytes = data instanceof Uint8Array ? data : Array.isArray(data) ? encAll(data) : enc(data);
    const step = chunkBytes === undefined ? bytes.length : chunkBytes;
    // Deliver from a larger buffer at an offset, as real adapters may.
    const pad = new Uint8Array(bytes.length + 8).fill(0xee);
    pad.set(bytes, 4);
    for (let off = 0; off < bytes.length; off += step) {
      const n = Math.min(step, bytes.length - off);
      (this.events as TransportEvents).onData(pad, 4 + off, n);
      if (this.state !== "open") return;
    }
  }

  /** Room again after a write returned false. */
  drain(): void {
    this.writeResult = true;
    (this.events as TransportEvents).onDrain();
  }
}

function decodeWrite(bytes: Uint8Array): Packet[] {
  const log = new WireLog();
  log.record(bytes, 0, bytes.length);
  return log.packets();
}

/** A board of fakes: manual clock and timers, a fake transport, and a scripted `random`. */
export interface FakeBoard {
  clock: ManualClock;
  timers: ManualClock;
  transport: FakeTransport;
  random: () => number;
  /** The value `random` returns next (default 0.5). */
  randomValue: number;
}

export function fakeBoard(startMs?: number): FakeBoard {
  const clock = new ManualClock(startMs);
  const board: FakeBoard = {
    clock: clock,
    timers: clock,
    transport: new FakeTransport(),
    random: () => board.randomValue,
    randomValue: 0.5,
  };
  return board;
}
