/**
 * The Espruino board (ESP32, ESP8266, Espruino WiFi, Espruino Pico with a Wi-Fi module): clock,
 * timers and the transport over `require("net")` / `require("tls")`.
 *
 * What it has to work around, as read from its sources and measured on its Linux build:
 * - Socket `'data'` is a String, one char per byte, at most 536 bytes a chunk (268 on ESP8266).
 *   It is copied into one scratch Uint8Array with a charCodeAt loop: `E.toUint8Array` would
 *   allocate per chunk, and running out of memory inside a 'data' handler removes the handler.
 * - `socket.write` sends anything that is not a String as its `toString()` ("65,66,0"): bytes go
 *   out as a binary string from `E.toString`. `write` always returns false; `'drain'` fires when
 *   the send buffer has emptied. Writing after close throws.
 * - A refused connection throws from `net.connect` on the Linux build and arrives as `'error'`
 *   on boards. A callback to `net.connect` together with a `'connect'` listener crashes the
 *   interpreter: only the callback is used.
 * - `getTime()` is seconds as a float; `clearTimeout()` without an argument clears every timer
 *   and timer ids are reused, so handles are guarded and forgotten when their timer fires.
 * - No destructuring, spread, default parameters, optional chaining, class extends, getters or
 *   hoisting in this file: Espruino's parser has none of them.
 *
 * Runtime modules are reached through Espruino's global `require`, called lazily.
 */
import type { Board, Clock, Timers, Transport, TransportEvents } from "../../src/transport.ts";

// Espruino's globals. Declared here, in this module, so that nothing of Node's leaks in.
declare const require: (name: string) => any;
declare const getTime: () => number;
declare const setTimeout: (callback: () => void, ms: number) => unknown;
declare const clearTimeout: (handle: unknown) => void;
declare const E: any;

let lastMs = -1;
let offsetMs = 0;

/**
 * Milliseconds from `getTime()` (seconds since 1970 once the time is set, as a float; beyond
 * int32 in ms, so never `|0`). `setTime()` can move it back: the clock never goes back.
 */
export const espruinoClock: Clock = {
  now: function () {
    let ms = getTime() * 1000 + offsetMs;
    if (lastMs >= 0 && ms < lastMs) {
      offsetMs += lastMs - ms;
      ms = lastMs;
    }
    lastMs = ms;
    return ms;
  },
};

/**
 * setTimeout/clearTimeout with the handle guarded: `clearTimeout(undefined)` throws or clears every
 * timer. The caller forgets a handle when its timer fires (ids are reused).
 */
export const espruinoTimers: Timers = {
  set: function (callback: () => void, ms: number) {
    return setTimeout(callback, ms > 0 ? ms : 0);
  },
  clear: function (handle: unknown) {
    if (handle !== undefined && handle !== null) clearTimeout(handle);
  },
};

/** Options passed through to `require("tls").connect` (PEM text, or Storage file names). */
export interface EspruinoTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface EspruinoTransportOptions {
  /** Connect with `require("tls")`; `true` for no certificates. */
  tls?: EspruinoTlsOptions | boolean;
  /** `write` returns false once this many bytes were written since the last 'drain' (default 1,024). */
  highWaterBytes?: number;
  /** Size of the scratch buffer for incoming chunks (default 536, the largest chunk). */
  rxChunkBytes?: number;
  /** A close that the socket does not confirm is reported anyway after this long (default 2,000 ms). */
  closeTimeoutMs?: number;
}

// Transport states.
const IDLE = 0;
const OPENING = 1;
const OPEN = 2;
const CLOSING = 3;

function failure(message: string): Error {
  return new Error("mcu-mqtt: " + message);
}

/** Bytes as a binary string when `E.toString` cannot make one (it returns undefined then). */
function binaryString(bytes: Uint8Array, off: number, len: number): string {
  let s = "";
  for (let i = off; i < off + len; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/**
 * The Espruino transport over `require("net")` or `require("tls")`. One instance serves one
 * client; the client opens it again for every reconnect.
 */
export class EspruinoTransport implements Transport {
  private socket: any = null;
  private events: TransportEvents | null = null;
  private state = IDLE;
  /** Scratch for incoming chunks, allocated once. */
  private rx: Uint8Array;
  /** Bytes written since the last 'drain'. */
  private unsent = 0;
  /** `write` returned false: `onDrain` is owed. */
  private full = false;
  private closeTimer: unknown = undefined;
  private tlsOptions: EspruinoTlsOptions | null;
  private highWaterBytes: number;
  private closeTimeoutMs: number;

  constructor(options?: EspruinoTransportOptions) {
    const o: EspruinoTransportOptions = options ? options : {};
    this.tlsOptions = o.tls === true ? {} : o.tls ? o.tls : null;
    this.highWaterBytes = o.highWaterBytes && o.highWaterBytes > 0 ? o.highWaterBytes : 1024;
    this.closeTimeoutMs = o.closeTimeoutMs && o.closeTimeoutMs > 0 ? o.closeTimeoutMs : 2000;
    this.rx = new Uint8Array(o.rxChunkBytes && o.rxChunkBytes > 0 ? o.rxChunkBytes : 536);
  }

  open(host: string, port: number, events: TransportEvents): void {
    this.abandon();
    this.events = events;
    this.state = OPENING;
    this.unsent = 0;
    this.full = false;
    const self = this;
    const options: any = { host: host, port: port };
    const tlsOptions = this.tlsOptions;
    if (tlsOptions) {
      const keys = Object.keys(tlsOptions);
      for (let i = 0; i < keys.length; i++) options[keys[i]] = (tlsOptions as any)[keys[i]];
    }
    let socket: any = null;
    // The callback only: a 'connect' listener as well crashes the interpreter.
    const onConnect = function () {
      if (self.socket !== socket || self.state !== OPENING) return;
      self.state = OPEN;
      events.onOpen();
    };
    try {
      socket = require(tlsOptions ? "tls" : "net").connect(options, onConnect);
    } catch (e) {
      // The Linux build throws for a refused connection or a failed DNS lookup.
      this.report(e);
      return;
    }
    this.socket = socket;
    socket.on("data", function (data: any) {
      if (self.socket === socket && self.state === OPEN) self.receive(socket, data);
    });
    socket.on("drain", function () {
      if (self.socket !== socket) return;
      self.unsent = 0;
      if (self.full && self.state === OPEN) {
        self.full = false;
        events.onDrain();
      }
    });
    // A server close or reset gives 'end' then 'close'; boards report a refused connection as
    // 'error' (and maybe no 'close' after it).
    socket.on("error", function (err: any) {
      if (self.socket === socket) self.finish(err ? err : failure("socket error"));
    });
    socket.on("close", function () {
      if (self.socket === socket) self.finish(self.state === CLOSING ? null : failure("connection closed by the broker"));
    });
  }

  write(bytes: Uint8Array, off: number, len: number): boolean {
    const socket = this.socket;
    if (this.state !== OPEN || !socket) return true; // onClose is on its way; the session resends
    let s = E.toString(off === 0 && len === bytes.length ? bytes : bytes.subarray(off, off + len));
    if (typeof s !== "string") s = binaryString(bytes, off, len);
    try {
      socket.write(s); // returns false always; 'drain' tells when the buffer has emptied
    } catch (e) {
      this.finish(e); // written after the socket closed
      return true;
    }
    this.unsent += len;
    if (this.unsent > this.highWaterBytes) {
      this.full = true;
      return false;
    }
    return true;
  }

  close(): void {
    const socket = this.socket;
    if (this.state === IDLE || this.state === CLOSING) return;
    if (this.state === OPENING || !socket) {
      this.finish(null);
      return;
    }
    // end() sends what is buffered (the DISCONNECT: without it the broker sends the will), then
    // closes; 'close' follows. A peer that never answers must not hold the close.
    this.state = CLOSING;
    try {
      socket.end();
    } catch (e) {
      this.finish(null);
      return;
    }
    const self = this;
    this.closeTimer = setTimeout(function () {
      self.closeTimer = undefined;
      if (self.socket === socket) self.finish(null);
    }, this.closeTimeoutMs);
  }

  /** Copies a binary-string chunk into the scratch buffer, piece by piece, and hands it on. */
  private receive(socket: any, data: any): void {
    const events = this.events as TransportEvents;
    if (typeof data !== "string") {
      // Bytes already (a firmware that delivers typed arrays).
      if (data && data.length > 0) events.onData(data, 0, data.length);
      return;
    }
    const rx = this.rx;
    const n = data.length;
    let off = 0;
    while (off < n) {
      let k = n - off;
      if (k > rx.length) k = rx.length;
      for (let i = 0; i < k; i++) rx[i] = data.charCodeAt(off + i);
      off += k;
      events.onData(rx, 0, k);
      if (this.socket !== socket || this.state !== OPEN) return; // closed by the handler
    }
  }

  /** Ends the current connection and reports it once, later. */
  private finish(reason: unknown): void {
    if (this.state === IDLE) return;
    this.abandon();
    this.report(reason);
  }

  /**
   * Reports the close from a timer: never inside a call from the client (nor its constructor,
   * before its listeners are attached).
   */
  private report(reason: unknown): void {
    const events = this.events;
    this.state = IDLE;
    if (!events) return;
    setTimeout(function () {
      events.onClose(reason);
    }, 0);
  }

  /** Drops the current socket and its timer, without reporting. */
  private abandon(): void {
    const socket = this.socket;
    const wasOpen = this.state === OPEN || this.state === OPENING;
    this.socket = null;
    this.state = IDLE;
    this.full = false;
    if (this.closeTimer !== undefined) {
      clearTimeout(this.closeTimer);
      this.closeTimer = undefined;
    }
    if (socket && wasOpen) {
      try {
        socket.end();
      } catch (e) {
        // closed already
      }
    }
  }
}

/** A board for one client: each client needs a transport of its own. */
export function espruinoBoard(options?: EspruinoTransportOptions): Board {
  return { clock: espruinoClock, timers: espruinoTimers, transport: new EspruinoTransport(options) };
}

/** The board for a client's `transport` and `tls` options (`tls` wins over `transport.tls`). */
export function espruinoBoardFor(options: EspruinoTransportOptions | undefined, tls: EspruinoTlsOptions | boolean | undefined): Board {
  const t: EspruinoTransportOptions = Object.assign({}, options);
  if (tls) t.tls = tls;
  return espruinoBoard(t);
}
