/**
 * mcu-mqtt for Kaluma on the Raspberry Pi Pico W (Kaluma 1.2.x, JerryScript 2.4).
 *
 *   const mqtt = require("mcu-mqtt");
 *   mqtt.joinWifi({ ssid: "home", password: "secret" }, function (err) {
 *     const client = mqtt.connect({ host: "192.168.1.10", clientId: "pico-1", wifi: { ssid: "home", password: "secret" } });
 *   });
 *
 * The same file makes both bundles: mcu-mqtt.js and mcu-mqtt-qos0.js (QOS12 false). What Kaluma
 * asks of the adapter (read from its sources, measured on its 1.2.1 runtime):
 * - `net.createConnection` throws for DNS failures and when Wi-Fi is down; a refused
 *   connection, a connect timeout or a peer reset is reported by nothing at all: the client's
 *   CONNACK and PINGRESP deadlines find those.
 * - Data comes as a Uint8Array per TCP segment: it is handed on as a binary string. Writes
 *   take binary strings as they are. A write costs about 9x its size in heap for a moment,
 *   so bytes go in slices of SLICE; 'drain' never fires and lwIP fails writes past ~11.6 KB unacknowledged, so after
 *   WINDOW bytes the client is told to wait, and a timer says when to go on.
 * - On the Pico the driver's callbacks report success even on failure; its `errno` is right
 *   after a synchronous call, so it is checked after each write.
 * - `clearTimeout(undefined)` throws: the client clears only a handle it holds.
 */
import { BoardClient, type Board, type BoardOptions, type LinkEvents } from "../../src/compact.ts";

declare const require: (name: string) => any;
declare const millis: () => number;
declare const setTimeout: (callback: () => void, ms: number) => unknown;
declare const clearTimeout: (handle: unknown) => void;
declare const global: any;

export interface WifiOptions {
  ssid: string;
  password?: string;
}

export interface KalumaOptions extends BoardOptions {
  /** After a failed connection, check this network is joined and join it again if not. */
  wifi?: WifiOptions;
}

const SLICE = 512;
const WINDOW = 4096;
const WINDOW_MS = 100;

/** Clock, timers and the link over Kaluma's `net`, for the Pico W. */
export function kalumaBoard(): Board {
  let sock: any = null;
  let ev: LinkEvents;
  let sent = 0;
  let pace: unknown;
  // `k` is the socket of one open: its close is reported once, and never from inside a call.
  const fin = function (k: any, why?: unknown) {
    if (sock !== k) return;
    sock = null;
    if (k.destroy) k.destroy(); // frees one of the 16 socket slots
    setTimeout(function () {
      ev.onClose(why);
    }, 0);
  };
  return {
    now: millis,
    set: setTimeout,
    clear: clearTimeout, // the client clears only handles it holds
    open: function (host, port, events) {
      ev = events;
      sent = 0;
      let k: any = (sock = {});
      try {
        k = sock = require("net").createConnection({ host: host, port: port }, function () {
          if (sock === k) ev.onOpen();
        });
        k.on("data", function (d: Uint8Array) {
          // One TCP segment (at most 1,460 bytes): as a binary string.
          if (sock === k) ev.onData(String.fromCharCode.apply(null, d as unknown as number[]));
        });
        const end = function (e?: unknown) {
          fin(k, e);
        };
        k.on("error", end);
        k.on("close", end);
      } catch (e) {
        fin(k, e);
      }
    },
    write: function (s) {
      const k = sock;
      if (!k) return true;
      const dev = global.__netdev;
      for (let i = 0; i < s.length; i += SLICE) {
        k.write(s.substr(i, SLICE));
        if (dev && dev.errno < 0) {
          fin(k, new Error("mcu-mqtt: write failed, errno " + dev.errno));
          return true;
        }
      }
      if ((sent += s.length) < WINDOW) return true;
      if (pace === undefined)
        pace = setTimeout(function () {
          pace = undefined;
          sent = 0;
          if (sock === k) ev.onDrain();
        }, WINDOW_MS);
      return false;
    },
    close: function () {
      if (sock) fin(sock);
    },
  };
}

let device: any;
function wifi(): any {
  if (!device) {
    const m = require("wifi");
    device = m.WiFi ? new m.WiFi() : m;
  }
  return device;
}

/** Joins a Wi-Fi network (blocks up to 30 s on the board); the callback hears whether it worked. */
export function joinWifi(options: WifiOptions, callback?: (err: Error | null) => void): void {
  const w = wifi();
  w.connect({ ssid: options.ssid, password: options.password }, function () {
    // The Pico's driver may report success when joining failed: ask for the connection.
    w.getConnection(function (err: unknown, info: unknown) {
      if (callback) callback(err || !info ? new Error("mcu-mqtt: Wi-Fi " + options.ssid) : null);
    });
  });
}

/** Creates a client on the Pico W and starts connecting. */
export function connect(options: KalumaOptions): BoardClient {
  const client = new BoardClient(options, kalumaBoard(), { maxPacketBytes: 20480, outboxBytes: 4096, incomingQos2Slots: 16 });
  const o = options.wifi;
  // Kaluma tells nobody when Wi-Fi is lost: after a failed connection, check and join again.
  if (o)
    client.on("close", function () {
      wifi().getConnection(function (err: unknown, info: unknown) {
        if (err || !info) joinWifi(o);
      });
    });
  return client;
}
