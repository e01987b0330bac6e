/**
 * A board the test drives by hand, for src/compact.ts: a manual clock, one-shot timers that fire
 * only from `advance`, and a fake link that records every binary string the client writes.
 *
 * The link holds the client to the contract of `Board` in src/compact.ts and fails the test on a
 * breach: `open` while a link is live, `clear` of a handle that is not armed, more than one timer
 * armed at once (the client owns a single timer). It keeps its own side of the contract too:
 * onClose comes exactly once per open and never from inside a call of the client's (a close the
 * client asks for is delivered by the test's next step, as a board's next turn of the event loop).
 *
 * What the client wrote is decoded with the project's codec (src/packet, through
 * test/helpers/wire.ts); what the test plays as the broker is encoded the same way. Binary
 * strings (one char per byte) and Uint8Arrays are converted here.
 */
import assert from "node:assert/strict";
import { BoardClient, type Board, type BoardDefaults, type BoardError, type BoardOptions, type LinkEvents } from "../../src/compact.ts";
import { CONNECT, type ConnectPacket, type Packet } from "../../src/packet/index.ts";
import { connack, decodeStream, enc, encAll } from "../helpers/wire.ts";

/** The sizes boards/espruino passes to the client. */
export const ESPRUINO_DEFAULTS: BoardDefaults = { maxPacketBytes: 2048, outboxBytes: 2048, incomingQos2Slots: 8 };
/** The sizes boards/kaluma passes to the client. */
export const KALUMA_DEFAULTS: BoardDefaults = { maxPacketBytes: 20480, outboxBytes: 4096, incomingQos2Slots: 16 };

/** Bytes as a binary string, one char per byte. */
export function toBin(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** A binary string as bytes; throws for a char above 255 (the client must write bytes only). */
export function fromBin(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) throw new Error("fromBin: char " + c + " at " + i + " is not a byte");
    out[i] = c;
  }
  return out;
}

interface Timer {
  id: number;
  atMs: number;
  callback: (arg: any) => void;
  arg: unknown;
}

export type LinkState = "idle" | "opening" | "open" | "closing";

export class TestBoard implements Board {
  nowMs = 1_000_000;
  /** What `random` returns (jitter and generated client ids). */
  randomValue = 0.5;
  private timers: Timer[] = [];
  private nextTimer = 1;
  /** Most timers armed at once so far. */
  maxArmed = 0;

  link: LinkState = "idle";
  events: LinkEvents | null = null;
  /** Opens so far, and closes delivered. */
  opens = 0;
  closes = 0;
  /** What `write` returns; false asks the client to hold bulk writes until `drain()`. */
  writable = true;
  /** Every write of the current connection, as given (binary strings). */
  writes: string[] = [];
  /** Writes made while no link was open (dropped, as the adapters drop them). */
  lateWrites = 0;
  /** Packets handed out by `take` on this connection. */
  private taken = 0;
  /** A close the client asked for, delivered by the test's next step. */
  private closePending = false;
  private inCall = false;
  /** While true a close the client asked for stays pending (to test the DROPPING and ENDING states). */
  hold = false;

  // ---- Board ----

  now(): number {
    return this.nowMs;
  }

  set(callback: (arg: any) => void, ms: number, arg: unknown): unknown {
    assert.ok(typeof ms === "number" && ms >= 0, "set: bad delay " + ms);
    const t = { id: this.nextTimer++, atMs: this.nowMs + ms, callback: callback, arg: arg };
    this.timers.push(t);
    this.maxArmed = Math.max(this.maxArmed, this.timers.length);
    return t;
  }

  clear(handle: unknown): void {
    const i = this.timers.indexOf(handle as Timer);
    assert.ok(i >= 0, "clear: a handle that is not armed (undefined or stale)");
    this.timers.splice(i, 1);
  }

  open(_host: string, _port: number, events: LinkEvents): void {
    assert.equal(this.link, "idle", "open while the link is " + this.link);
    this.link = "opening";
    this.events = events;
    this.opens++;
    this.writes = [];
    this.taken = 0;
  }

  write(data: string): boolean {
    assert.equal(typeof data, "string");
    if (this.link !== "open") {
      this.lateWrites++;
      return true;
    }
    fromBin(data); // bytes only
    this.writes.push(data);
    return this.writable;
  }

  close(): void {
    if (this.link === "idle" || this.link === "closing") return;
    this.link = "closing";
    this.closePending = true;
  }

  /** Called unbound by the client (`(board.random || Math.random)()`): no `this` inside. */
  random = (): number => this.randomValue;

  // ---- the test's side ----

  /** Timers armed now. */
  armed(): number {
    return this.timers.length;
  }

  /** Delivers a close the client asked for (as the board's next turn would). */
  settle(): void {
    if (!this.closePending || this.hold) return;
    this.closePending = false;
    this.finish();
  }

  private finish(reason?: unknown): void {
    assert.ok(!this.inCall, "onClose from inside a call");
    this.link = "idle";
    this.closes++;
    this.inCall = true;
    try {
      (this.events as LinkEvents).onClose(reason);
    } finally {
      this.inCall = false;
    }
  }

  /** Moves the clock by `ms`, firing due timers in order. */
  advance(ms: number): void {
    this.settle();
    const end = this.nowMs + ms;
    for (;;) {
      this.timers.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
      const t = this.timers[0];
      if (!t || t.atMs > end) break;
      this.timers.shift();
      this.nowMs = Math.max(this.nowMs, t.atMs);
      t.callback(t.arg);
      this.settle();
    }
    this.nowMs = end;
  }

  /**
   * The program does not run for `ms` (a blocked event loop): the clock jumps, then the timers
   * that came due meanwhile fire, late, at the new time.
   */
  stall(ms: number): void {
    this.nowMs += ms;
    this.advance(0);
  }

  /** Advances second by second until `cond` holds; fails after `maxMs`. */
  advanceUntil(cond: () => boolean, maxMs: number, what: string): void {
    for (let waited = 0; !cond(); waited += 100) {
      assert.ok(waited < maxMs, "not within " + maxMs + " ms: " + what);
      this.advance(100);
    }
  }

  /** The link opens. */
  accept(): void {
    this.settle();
    assert.equal(this.link, "opening", "accept while the link is " + this.link);
    this.link = "open";
    (this.events as LinkEvents).onOpen();
  }

  /** The link fails to open, breaks, or the peer closes it. */
  cut(reason?: unknown): void {
    this.settle();
    if (this.link === "idle") return;
    this.finish(reason);
  }

  /** The link has room again (`writable` stays as the test set it: false gives one write per drain). */
  drain(): void {
    this.settle();
    if (this.link === "open") (this.events as LinkEvents).onDrain();
  }

  /** Bytes from the broker, as one chunk or in chunks of `chunk` bytes. */
  push(data: Packet | Uint8Array | (Packet | Uint8Array)[], chunk?: number, asBytes?: boolean): void {
    this.settle();
    assert.equal(this.link, "open", "push while the link is " + this.link);
    const bytes = Array.isArray(data) ? encAll(data) : data instanceof Uint8Array ? data : enc(data);
    const s = toBin(bytes);
    const n = chunk || s.length;
    for (let i = 0; i < s.length && this.link === "open"; i += n) {
      // Kaluma's sockets give each TCP segment as a Uint8Array, Espruino's as a String.
      (this.events as LinkEvents).onData(asBytes ? bytes.slice(i, i + n) : s.substr(i, n));
    }
  }

  /** Whether the client asked for a close not yet delivered. */
  closing(): boolean {
    return this.closePending;
  }

  /** Data straight to the client, whatever the link's state (a late or stray event). */
  rawData(data: Packet | Uint8Array | string): void {
    (this.events as LinkEvents).onData(typeof data === "string" ? data : toBin(data instanceof Uint8Array ? data : enc(data)));
  }

  /** Every byte written on this connection. */
  bytes(): Uint8Array {
    return fromBin(this.writes.join(""));
  }

  /** Every packet written on this connection (the stream must decode cleanly). */
  packets(): Packet[] {
    return decodeStream(this.bytes());
  }

  /** The packets written since the last `take` on this connection. */
  take(): Packet[] {
    const all = this.packets();
    const fresh = all.slice(this.taken);
    this.taken = all.length;
    return fresh;
  }
}

/** Listener records of one client. */
export class Recorder {
  errors: BoardError[] = [];
  events: string[] = [];
  messages: { topic: string; payload: Uint8Array; qos: number; retain: boolean; dup: boolean }[] = [];
  drains = 0;
  dropped: number[] = [];
  connects: { sessionPresent: boolean }[] = [];

  constructor(c: BoardClient) {
    c.on("error", (e: BoardError) => {
      this.errors.push(e);
      this.events.push("error " + e.code);
    });
    c.on("connect", (x: { sessionPresent: boolean }) => {
      this.connects.push(x);
      this.events.push("connect");
    });
    c.on("offline", () => this.events.push("offline"));
    c.on("close", () => this.events.push("close"));
    c.on("end", () => this.events.push("end"));
    c.on("drain", () => {
      this.drains++;
      this.events.push("drain");
    });
    c.on("dropped", (n: number) => {
      this.dropped.push(n);
      this.events.push("dropped " + n);
    });
    c.on("message", (topic: string, payload: Uint8Array, info: { qos: number; retain: boolean; dup: boolean }) => {
      // The info object is reused: copy it.
      this.messages.push({ topic: topic, payload: payload, qos: info.qos, retain: info.retain, dup: info.dup });
    });
  }

  codes(): number[] {
    return this.errors.map((e) => e.code);
  }
}

/** The client's state (WAITING..ENDED of src/compact.ts): read for the state-table tests. */
export function stateOf(c: BoardClient): number {
  return (c as unknown as { st_: number }).st_;
}

export interface Rig {
  board: TestBoard;
  client: BoardClient;
  rec: Recorder;
}

/** A client on a TestBoard with the Espruino defaults; the link is opening. */
export function rig(options?: BoardOptions, defaults?: BoardDefaults): Rig {
  const board = new TestBoard();
  const client = new BoardClient(Object.assign({ clientId: "c1" }, options), board, defaults || ESPRUINO_DEFAULTS);
  const rec = new Recorder(client);
  return { board: board, client: client, rec: rec };
}

/** Opens the link, checks the CONNECT and answers CONNACK (accepted). Returns the CONNECT. */
export function handshake(r: Rig, sessionPresent = false): ConnectPacket {
  const b = r.board;
  b.advanceUntil(() => b.link === "opening", 60_000, "the client to open the link");
  b.accept();
  const sent = b.take();
  assert.equal(sent.length, 1, "one packet after onOpen");
  assert.equal(sent[0].type, CONNECT);
  b.push(connack(0, sessionPresent));
  assert.equal(r.client.connected, true);
  return sent[0] as ConnectPacket;
}

/** A rig that is connected. */
export function connected(options?: BoardOptions, defaults?: BoardDefaults): Rig {
  const r = rig(options, defaults);
  handshake(r);
  return r;
}

/** Text of UTF-8 bytes. */
export function utf8(bytes: Uint8Array | string): string {
  return typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes);
}
