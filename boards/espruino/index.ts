/**
 * mcu-mqtt for Espruino (ESP32, ESP8266, Espruino WiFi, Espruino Pico with a Wi-Fi module).
 *
 *   var mqtt = require("mcu-mqtt");
 *   var client = mqtt.connect({ host: "192.168.1.10", clientId: "esp32-1" });
 *
 * The same file makes both bundles: mcu-mqtt.js (QoS 0, 1 and 2) and mcu-mqtt-qos0.js (built
 * with QOS12 false). What Espruino asks of the adapter (measured on its interpreter):
 * - Sockets give and take Strings, one char per byte, as the client's packets are.
 * - `write` gives no backpressure and 'drain' fires when the send buffer has emptied: past
 *   HIGH_WATER bytes since the last 'drain' the client is told to wait.
 * - A refused connection throws from `connect` on some builds and arrives as 'error' on others;
 *   after a server close 'end' and 'close' come, no 'error'. Either way the client hears one
 *   onClose, never from inside the call that caused it.
 * - `clearTimeout(undefined)` clears every timer: the client clears only a handle it holds.
 * - Socket listeners and the connect callback run with the socket as `this`, and `setTimeout`
 *   passes the arguments after its delay on: no closure is needed to carry either.
 */
import { BoardClient, type Board, type BoardOptions, type LinkEvents } from "../../src/compact.ts";

declare const require: (name: string) => any;
declare const getTime: () => number;
declare const setTimeout: (callback: (...args: any[]) => void, ms: number, ...args: unknown[]) => unknown;
declare const clearTimeout: (handle: unknown) => void;

export interface EspruinoOptions extends BoardOptions {
  /** TLS through `require("tls")` (firmware built with it): true, or the options it takes. */
  tls?: boolean | { ca?: string; cert?: string; key?: string };
}

/** Bytes written since the last 'drain' beyond which the client holds bulk writes. */
const HIGH_WATER = 1024;

// The socket's listeners are made once, at the module's top level (on Espruino a function made
// while another runs costs some 4 variables more), and Espruino calls them with the socket as
// `this`; the socket knows its board as `b`. Only the socket of the board's current open is heard.

/** The link's `close` or `error`: reported once per open, and never from inside a call. */
function ended(this: Sock, why?: unknown): void {
  const b = this.b;
  if (b.s_ !== this) return;
  b.s_ = null;
  setTimeout(closed, 0, b, why);
}
function closed(b: EspruinoBoard, why?: unknown): void {
  b.e_.onClose(why);
}
function opened(this: Sock): void {
  if (this.b.s_ === this) this.b.e_.onOpen();
}
function data(this: Sock, d: string): void {
  if (this.b.s_ === this) this.b.e_.onData(d);
}
function drained(this: Sock): void {
  const b = this.b;
  b.u_ = 0;
  if (b.s_ === this) b.e_.onDrain();
}

interface Sock {
  b: EspruinoBoard;
  write?(s: string): void;
  end?(): void;
  on?(event: string, listener: Function): void;
}

/** Clock, timers and the link over `require("net")` (or "tls"). */
class EspruinoBoard implements Board {
  /** The socket of the current open; the events it reports to; bytes written since 'drain'. */
  s_: Sock | null = null;
  e_!: LinkEvents;
  u_ = 0;
  t_?: EspruinoOptions["tls"];

  declare set: Board["set"];
  declare clear: Board["clear"];

  now(): number {
    return getTime() * 1000;
  }

  open(host: string, port: number, events: LinkEvents): void {
    const tls = this.t_;
    this.e_ = events;
    this.u_ = 0;
    let k: Sock = (this.s_ = { b: this });
    try {
      k = this.s_ = require(tls ? "tls" : "net").connect(Object.assign({ host: host, port: port }, tls === true ? {} : tls), opened);
      k.b = this;
      k.on!("data", data);
      k.on!("drain", drained);
      k.on!("error", ended);
      k.on!("close", ended);
    } catch (e) {
      ended.call(k, e);
    }
  }

  write(s: string): boolean {
    const k = this.s_;
    if (!k) return true;
    try {
      k.write!(s);
    } catch (e) {
      ended.call(k, e); // written after the socket closed
    }
    return (this.u_ += s.length) < HIGH_WATER;
  }

  close(): void {
    const k = this.s_;
    if (!k) return;
    ended.call(k);
    if (k.end) k.end();
  }
}

// Espruino's own timer functions are the board's: no function of ours to pay for. The client
// clears only handles it holds (`clearTimeout(undefined)` would clear every timer).
EspruinoBoard.prototype.set = setTimeout;
EspruinoBoard.prototype.clear = clearTimeout;

/** This board's clock, timers and link, for `new BoardClient` (`connect` makes one itself). */
export function espruinoBoard(tls?: EspruinoOptions["tls"]): Board {
  const b = new EspruinoBoard();
  if (tls) b.t_ = tls;
  return b;
}

/** Creates a client on this board and starts connecting. */
export function connect(options: EspruinoOptions): BoardClient {
  return new BoardClient(options, espruinoBoard(options.tls), { maxPacketBytes: 2048, outboxBytes: 2048, incomingQos2Slots: 8 });
}

/**
 * Joins a Wi-Fi network (ESP32/ESP8266 `Wifi`, Espruino WiFi's `EspruinoWiFi`). The station
 * joins again by itself after a loss; the client reconnects when it has.
 */
export function joinWifi(options: { ssid: string; password?: string }, callback?: (err: Error | null) => void): void {
  let w;
  try {
    w = require("Wifi");
  } catch (e) {
    w = require("EspruinoWiFi");
  }
  w.connect(options.ssid, { password: options.password }, function (err: unknown) {
    if (callback) callback(err ? new Error("mcu-mqtt: Wi-Fi " + err) : null);
  });
}
