/**
 * The Kaluma board for the Raspberry Pi Pico W (Kaluma 1.2.x, JerryScript 2.4): clock, timers and
 * the transport over `require('net')`.
 *
 * What it has to work around (read from its sources and measured on a Linux build of Kaluma 1.2.1):
 * - `net.createConnection` throws for DNS failures and when Wi-Fi is down; a refused connection,
 *   a connect timeout or a peer reset is reported by nothing at all. The transport gives up an
 *   open that has not connected after `openTimeoutMs`; the client's CONNACK and PINGRESP
 *   deadlines find a link that died later.
 * - A socket write costs about 9x its size in JS heap for a moment, `'drain'` never fires, and
 *   more than ~11.6 KB unacknowledged in lwIP's send buffer fails the write. So bytes go out in
 *   slices of about 1 KB, one slice per timer tick, at most ~8 KB per `ackWindowMs`.
 * - On the Pico the driver's callbacks report success even on failure; its `errno` property is
 *   still right after a synchronous call, so it is checked after every slice.
 * - `clearTimeout(undefined)` throws, and a timer whose callback throws is cancelled.
 *
 * Runtime modules are reached through Kaluma's global `require`, called lazily, so that this
 * file bundles (and type-checks) without them.
 */
import type { Board, Clock, Timers, Transport, TransportEvents } from "../../src/transport.ts";

// Kaluma's globals. Declared here, in this module, so that nothing of Node's leaks in.
declare const require: (name: string) => any;
declare const millis: () => number;
declare const setTimeout: (callback: () => void, ms: number) => unknown;
declare const clearTimeout: (handle: unknown) => void;
declare const global: any;

/** Milliseconds since boot. (`Date.now()` on Kaluma is a 1-second RTC.) */
export const kalumaClock: Clock = {
  now: function () {
    return millis();
  },
};

/** setTimeout/clearTimeout with the handle guarded: `clearTimeout(undefined)` throws on Kaluma. */
export const kalumaTimers: Timers = {
  set: function (callback: () => void, ms: number) {
    return setTimeout(callback, ms > 0 ? ms : 0);
  },
  clear: function (handle: unknown) {
    if (handle !== undefined && handle !== null) clearTimeout(handle);
  },
};

export interface KalumaTransportOptions {
  /** Bytes per socket write (default 1,024). */
  sliceBytes?: number;
  /** Milliseconds between two socket writes (default 20). */
  paceMs?: number;
  /**
   * At most this many bytes are handed to the socket within `ackWindowMs` (default 8,192).
   * Kaluma gives no acknowledgement signal, so "unacknowledged" is estimated as "sent within the
   * last window"; lwIP fails writes beyond ~11.6 KB unacknowledged. A failed write halves the
   * window (a link slower than the pacing); every 64 KB sent without failure widens it by one
   * slice again, up to this.
   */
  windowBytes?: number;
  /** The window of `windowBytes`, a round-trip estimate (default 250 ms). */
  ackWindowMs?: number;
  /** Capacity of the send queue (default 8,192 bytes; at least the client's txBytes). */
  queueBytes?: number;
  /** `write` returns false while more than this is queued (default 2,048 bytes). */
  highWaterBytes?: number;
  /** An open that has not connected by then is given up (default 10,000 ms). */
  openTimeoutMs?: number;
}

// Transport states.
const IDLE = 0;
const OPENING = 1;
const OPEN = 2;
const CLOSING = 3;

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback;
}

function failure(message: string): Error {
  return new Error("mcu-mqtt: " + message);
}

/**
 * The Kaluma transport over `require('net')`. One instance serves one client; the client opens
 * it again for every reconnect.
 */
export class KalumaTransport implements Transport {
  private socket: any = null;
  private events: TransportEvents | null = null;
  private state = IDLE;
  /** Send queue: a ring buffer, allocated once. */
  private queue: Uint8Array;
  private head = 0;
  private count = 0;
  /** One slice, copied out of the ring, allocated once. */
  private slice: Uint8Array;
  /** When each of the last `sentAt.length` slices went out, to keep within the window. */
  private sentAt: number[];
  private sentNext = 0;
  /** Slices allowed per window now: halved by a failed write, widened slowly after. */
  private windowSlices: number;
  /** Slices sent since the window last changed. */
  private cleanSlices = 0;
  private lastSliceMs = -1;
  /** A slice went out since the driver's errno was last checked. */
  private unchecked = false;
  /** `write` returned false: `onDrain` is owed. */
  private full = false;
  private pacer: unknown = undefined;
  private openTimer: unknown = undefined;
  private closeTimer: unknown = undefined;
  private readonly paceMs: number;
  private readonly ackWindowMs: number;
  private readonly highWaterBytes: number;
  private readonly openTimeoutMs: number;
  private readonly pumpNow: () => void;

  constructor(options?: KalumaTransportOptions) {
    const o: KalumaTransportOptions = options ? options : {};
    const sliceBytes = positive(o.sliceBytes, 1024);
    const windowBytes = positive(o.windowBytes, 8192);
    this.paceMs = positive(o.paceMs, 20);
    this.ackWindowMs = positive(o.ackWindowMs, 250);
    this.queue = new Uint8Array(positive(o.queueBytes, 8192));
    this.highWaterBytes = positive(o.highWaterBytes, 2048);
    this.openTimeoutMs = positive(o.openTimeoutMs, 10000);
    this.slice = new Uint8Array(sliceBytes);
    let slots = Math.floor(windowBytes / sliceBytes);
    if (slots < 1) slots = 1;
    this.sentAt = [];
    for (let i = 0; i < slots; i++) this.sentAt.push(-1);
    this.windowSlices = slots;
    const self = this;
    this.pumpNow = function () {
      self.pacer = undefined;
      self.pump();
    };
  }

  open(host: string, port: number, events: TransportEvents): void {
    this.abandon();
    this.events = events;
    this.state = OPENING;
    this.head = 0;
    this.count = 0;
    this.full = false;
    this.unchecked = false;
    const self = this;
    let socket: any = null;
    const onConnect = function () {
      if (self.socket !== socket || self.state !== OPENING) return;
      self.clearOpenTimer();
      self.state = OPEN;
      events.onOpen();
    };
    try {
      const net = require("net");
      if (typeof net.Socket === "function") {
        socket = new net.Socket();
        this.socket = socket;
        this.listen(socket, events);
        // Connects only when a callback is given. DNS runs inside and throws on failure.
        socket.connect({ host: host, port: port }, onConnect);
      } else {
        socket = net.createConnection({ host: host, port: port }, onConnect);
        this.socket = socket;
        this.listen(socket, events);
      }
    } catch (e) {
      // DNS failure ("DNS response timeout.") or Wi-Fi down ("WiFi is not connected."). The socket
      // may hold one of the 16 slots already: destroy it.
      this.socket = socket;
      this.fail(socket, e);
      return;
    }
    if (this.socket !== socket) return;
    this.openTimer = setTimeout(function () {
      self.openTimer = undefined;
      if (self.socket === socket && self.state === OPENING) {
        self.fail(socket, failure("no connection to " + host + ":" + port + " after " + self.openTimeoutMs + " ms (Kaluma reports refused connections by nothing)"));
      }
    }, this.openTimeoutMs);
  }

  /** The socket's listeners; one set per connection, none per packet. */
  private listen(socket: any, events: TransportEvents): void {
    const self = this;
    // An 'error' without a listener throws out of Kaluma's emitter.
    socket.on("error", function (err: unknown) {
      self.fail(socket, err ? err : failure("socket error"));
    });
    socket.on("data", function (chunk: any) {
      if (self.socket !== socket || self.state !== OPEN) return;
      if (typeof chunk === "string") {
        // Firmware before Kaluma 1.2.1 hands over strings cut at the first NUL byte: MQTT
        // packets would arrive corrupted.
        self.fail(socket, failure("this Kaluma firmware delivers socket data as strings, which loses NUL bytes; use Kaluma 1.2.1 or newer"));
        return;
      }
      events.onData(chunk, 0, chunk.length);
    });
    // A remote close gives 'close' only ('end' follows a local end() alone).
    socket.on("close", function () {
      self.fail(socket, self.state === CLOSING ? null : failure("connection closed by the broker"));
    });
  }

  write(bytes: Uint8Array, off: number, len: number): boolean {
    if (this.state !== OPEN) return true; // onClose is on its way; the session resends later
    const queue = this.queue;
    if (len > queue.length - this.count) {
      this.fail(this.socket, failure("send queue overflow: " + (this.count + len) + " bytes for " + queue.length));
      return true;
    }
    // Copy into the ring, in at most two pieces.
    let tail = this.head + this.count;
    if (tail >= queue.length) tail -= queue.length;
    const first = len < queue.length - tail ? len : queue.length - tail;
    queue.set(bytes.subarray(off, off + first), tail);
    if (first < len) queue.set(bytes.subarray(off + first, off + len), 0);
    this.count += len;
    this.schedule();
    if (this.count > this.highWaterBytes) {
      this.full = true;
      return false;
    }
    return true;
  }

  close(): void {
    const socket = this.socket;
    if (this.state === IDLE || this.state === CLOSING) return;
    // A slice written in the last tick is flushed by Kaluma's stream from a timer: wait for it.
    if (this.state !== OPEN || (this.count === 0 && !this.unchecked)) {
      this.fail(socket, null);
      return;
    }
    // Let the queued bytes (DISCONNECT above all, or the broker sends the will) go out first.
    this.state = CLOSING;
    const self = this;
    this.closeTimer = setTimeout(function () {
      self.closeTimer = undefined;
      self.fail(socket, null);
    }, 2000);
    this.schedule();
  }

  /** Arms the pacing timer if it is not armed. */
  private schedule(): void {
    if (this.pacer !== undefined) return;
    let delay = 0;
    if (this.lastSliceMs >= 0) {
      delay = this.lastSliceMs + this.paceMs - millis();
      if (delay < 0) delay = 0;
    }
    this.pacer = setTimeout(this.pumpNow, delay);
  }

  /** One tick: check the last slice, then send the next one if the window allows. */
  private pump(): void {
    const socket = this.socket;
    if (this.state !== OPEN && this.state !== CLOSING) return;
    if (this.unchecked) {
      this.unchecked = false;
      // The driver's callbacks report success even on failure; its errno does not lie.
      const dev = typeof global !== "undefined" && global ? global.__netdev : undefined;
      if (dev && typeof dev.errno === "number" && dev.errno < 0) {
        // The bytes are lost, so the connection is; the next one sends at half the rate.
        this.windowSlices = this.windowSlices > 1 ? Math.floor(this.windowSlices / 2) : 1;
        this.cleanSlices = 0;
        this.fail(socket, failure("socket write failed (driver errno " + dev.errno + ")"));
        return;
      }
    }
    if (this.count === 0) {
      if (this.state === CLOSING) this.fail(socket, null);
      return;
    }
    const now = millis();
    // The slice `windowSlices` back must have left a window ago.
    let back = this.sentNext - this.windowSlices;
    if (back < 0) back += this.sentAt.length;
    const oldest = this.sentAt[back];
    if (oldest >= 0 && now - oldest < this.ackWindowMs) {
      this.pacer = setTimeout(this.pumpNow, oldest + this.ackWindowMs - now);
      return;
    }
    const queue = this.queue;
    const slice = this.slice;
    const n = this.count < slice.length ? this.count : slice.length;
    const first = n < queue.length - this.head ? n : queue.length - this.head;
    slice.set(queue.subarray(this.head, this.head + first), 0);
    if (first < n) slice.set(queue.subarray(0, n - first), first);
    try {
      // Kaluma turns the bytes into a string at once, so the slice may be reused afterwards.
      socket.write(n === slice.length ? slice : slice.subarray(0, n));
    } catch (e) {
      this.fail(socket, e);
      return;
    }
    if (this.socket !== socket) return; // an 'error' inside write closed it
    this.head += n;
    if (this.head >= queue.length) this.head -= queue.length;
    this.count -= n;
    this.lastSliceMs = now;
    this.sentAt[this.sentNext] = now;
    this.sentNext = this.sentNext + 1 === this.sentAt.length ? 0 : this.sentNext + 1;
    this.unchecked = true;
    if (++this.cleanSlices >= 64 && this.windowSlices < this.sentAt.length) {
      this.windowSlices++;
      this.cleanSlices = 0;
    }
    // Tick again: for the next slice, or to check this one.
    this.pacer = setTimeout(this.pumpNow, this.paceMs);
    if (this.full && this.count <= this.highWaterBytes && this.state === OPEN) {
      this.full = false;
      if (this.events) this.events.onDrain();
    }
  }

  /** Ends the connection of `socket` (if it is the current one) and reports it once, later. */
  private fail(socket: any, reason: unknown): void {
    if (socket !== this.socket || this.state === IDLE) return;
    const events = this.events;
    this.abandon();
    if (!events) return;
    // Reported from a timer: never inside a call from the client (nor its constructor, before
    // its listeners are attached). The handle is not kept: this timer is never cleared.
    setTimeout(function () {
      events.onClose(reason);
    }, 0);
  }

  /** Drops the current socket and every timer, without reporting. */
  private abandon(): void {
    const socket = this.socket;
    this.socket = null;
    this.state = IDLE;
    this.count = 0;
    this.full = false;
    this.clearOpenTimer();
    if (this.pacer !== undefined) {
      clearTimeout(this.pacer);
      this.pacer = undefined;
    }
    if (this.closeTimer !== undefined) {
      clearTimeout(this.closeTimer);
      this.closeTimer = undefined;
    }
    if (socket) {
      try {
        socket.destroy(); // frees one of the 16 socket slots
      } catch (e) {
        // already gone
      }
    }
  }

  private clearOpenTimer(): void {
    if (this.openTimer !== undefined) {
      clearTimeout(this.openTimer);
      this.openTimer = undefined;
    }
  }
}

/** A board for one client: each client needs a transport of its own. */
export function kalumaBoard(options?: KalumaTransportOptions): Board {
  return { clock: kalumaClock, timers: kalumaTimers, transport: new KalumaTransport(options) };
}

/**
 * The board for a client whose largest packet is `txBytes`: the send queue must take that packet
 * on top of what makes `write` say "hold on" (`highWaterBytes`), and is never below `leastBytes`.
 */
export function kalumaBoardFor(options: KalumaTransportOptions | undefined, txBytes: number, leastBytes: number): Board {
  const t: KalumaTransportOptions = Object.assign({}, options);
  const high = t.highWaterBytes !== undefined && t.highWaterBytes > 0 ? t.highWaterBytes : 2048;
  const least = high + txBytes + 512;
  if (t.queueBytes === undefined || t.queueBytes < least) t.queueBytes = least > leastBytes ? least : leastBytes;
  return kalumaBoard(t);
}
