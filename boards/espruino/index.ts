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
 */
import { BoardClient, type Board, type BoardOptions, type LinkEvents } from "../../src/compact.ts";

declare const require: (name: string) => any;
declare const getTime: () => number;
declare const setTimeout: (callback: (arg?: any) => void, ms: number, arg?: unknown) => unknown;
declare const clearTimeout: (handle: unknown) => void;

export interface EspruinoOptions extends BoardOptions {
  /** TLS through `require("tls")` (firmware built with it): true, or the options it takes. */
  tls?: boolean | { ca?: string; cert?: string; key?: string };
}

/** Bytes written since the last 'drain' beyond which the client holds bulk writes. */
const HIGH_WATER = 1024;

/**
 * Clock, timers and the link over `require("net")` (or "tls"). The socket's listeners are made
 * once per board, not per connection, and know their socket as `this` (Espruino calls them so):
 * four closures made at every reconnect cost some 50 variables a connection on the board.
 */
export function espruinoBoard(tls?: EspruinoOptions["tls"]): Board {
  let sock: any = null;
  let ev: LinkEvents;
  let unsent = 0;
  const closed = function (why?: unknown) {
    ev.onClose(why);
  };
  // `this` is the socket of one open: its close is reported once, and never from inside a call.
  const fin = function (this: unknown, why?: unknown) {
    if (sock !== this) return;
    sock = null;
    setTimeout(closed, 0, why);
  };
  const opened = function (this: unknown) {
    if (sock === this) ev.onOpen();
  };
  const data = function (this: unknown, d: string) {
    if (sock === this) ev.onData(d);
  };
  const drained = function (this: unknown) {
    unsent = 0;
    if (sock === this) ev.onDrain();
  };
  return {
    now: function () {
      return getTime() * 1000;
    },
    set: setTimeout,
    clear: clearTimeout, // the client clears only handles it holds
    open: function (host, port, events) {
      ev = events;
      unsent = 0;
      let k: any = (sock = {});
      try {
        k = sock = require(tls ? "tls" : "net").connect(Object.assign({ host: host, port: port }, tls === true ? {} : tls), opened);
        k.on("data", data);
        k.on("drain", drained);
        k.on("error", fin);
        k.on("close", fin);
      } catch (e) {
        fin.call(k, e);
      }
    },
    write: function (s) {
      const k = sock;
      if (!k) return true;
      try {
        k.write(s);
      } catch (e) {
        fin.call(k, e); // written after the socket closed
      }
      return (unsent += s.length) < HIGH_WATER;
    },
    close: function () {
      const k = sock;
      if (!k) return;
      fin.call(k);
      if (k.end) k.end();
    },
  };
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
